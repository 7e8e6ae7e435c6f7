import { z } from 'zod';
import { DEFAULT_MAGLEV_SEED, DEFAULT_MAGLEV_TABLE_SIZE, isPrime, parseMaglevSeed } from './maglev.js';

function seedOk(s: string): boolean {
  try {
    parseMaglevSeed(s);
    return true;
  } catch {
    return false;
  }
}

/** `proxy.ebpf.*` in a scenario: the Cilium agent flags the model follows. */
export const EbpfOptionsSchema = z.strictObject({
  algorithm: z.enum(['random', 'maglev']).default('random').describe('--bpf-lb-algorithm: random slot or Maglev'),
  maglevTableSize: z
    .number()
    .int()
    .refine((m) => isPrime(m) && m >= 3, {
      message: 'must be a prime >= 3 (Cilium accepts 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071)',
    })
    .default(DEFAULT_MAGLEV_TABLE_SIZE)
    .describe('--bpf-lb-maglev-table-size: M, entries per Maglev table (a prime)'),
  maglevSeed: z
    .string()
    .refine(seedOk, { message: 'must be base64 of 12 bytes' })
    .default(DEFAULT_MAGLEV_SEED)
    .describe('--bpf-lb-maglev-hash-seed (base64 of 12 bytes)'),
  socketLB: z.boolean().default(true).describe('--bpf-lb-sock: in-node clients translated once at connect()'),
  mode: z.enum(['tc', 'xdp']).default('tc').describe('where traffic from outside is balanced: tc, or XDP (--bpf-lb-acceleration=native)'),
  externalClusterIP: z
    .boolean()
    .default(false)
    .describe('--bpf-lb-external-clusterip: ClusterIPs reachable from outside (and given Maglev tables)'),
});
export type EbpfOptionsInput = z.infer<typeof EbpfOptionsSchema>;
