import { z } from 'zod';

/** The IPVS schedulers the kernel model implements (kube-proxy --ipvs-scheduler). */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq'] as const;
export type IpvsScheduler = (typeof IPVS_SCHEDULERS)[number];

/** `proxy.ipvs.*` in a scenario. */
export const IpvsOptions = z.strictObject({
  scheduler: z.enum(IPVS_SCHEDULERS).default('rr').describe('--ipvs-scheduler'),
  serviceTable: z
    .enum(['fixed256', 'resizable'])
    .default('fixed256')
    .describe("the kernel's IPVS service table: 256 chained buckets (released kernels) or resizable (newer)"),
});
export type IpvsOptions = z.infer<typeof IpvsOptions>;
