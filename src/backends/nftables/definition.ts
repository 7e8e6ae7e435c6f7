import { z } from 'zod';
import type { BackendDefinition, CoefficientSet, CostModel, LookupResult, SyncResult } from '../../types.js';
import { coefficientValues, count } from '../../proxy/cost.js';
import { NftablesBackend } from './backend.js';
import { NFTABLES_METRICS } from './metrics.js';

/** `proxy.nftables.*` in a scenario: kube-proxy's nftables-mode flags and the cluster facts it watches. */
export const NftablesOptions = z.strictObject({
  serviceCIDRs: z
    .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR such as 10.96.0.0/12'))
    .default(['10.96.0.0/12'])
    .describe('the ServiceCIDRs kube-proxy watches: traffic to unallocated ClusterIPs in them is dropped'),
  nodePortAddresses: z
    .enum(['primary', 'all'])
    .default('primary')
    .describe("--nodeport-addresses when the node lists none: the primary node IP (nftables mode's default) or every local address"),
  fullSyncPeriod: z.number().positive().default(3600).describe('seconds between forced full syncs (kube-proxy: 1 h)'),
});
export type NftablesOptions = z.infer<typeof NftablesOptions>;

/**
 * Measured with scripts/measure-nftables.ts on this project's machine (nft 1.0.6, kernel 6.18, private network
 * namespaces, 2 shared cores under load 5-12; CPU time of the nft process): see README.md "Cost notes".
 */
export const NFTABLES_COEFFICIENTS: CoefficientSet = {
  nftFixed: { value: 5e-3, unit: 's/transaction', source: 'measured: a 45-operation partial transaction on a 100-service table, nft process start included' },
  perOperation: { value: 8e-6, unit: 's/op', source: 'measured: full loads of 100-3,000 services x 10 endpoints, least squares with the terms below' },
  perSetScan: { value: 0.25e-6, unit: 's/scan', source: 'measured: N chains with one numgen vmap each minus N with a plain goto, 2,000-8,000 chains' },
  perTableObject: { value: 1.4e-6, unit: 's/object', source: 'measured: partial transactions against tables of 1k-100k chains+rules+sets (nft reads the table)' },
  perObjectListed: { value: 1e-6, unit: 's/object', source: 'measured: kube-proxy\'s two `nft -j list chains|sets ip` calls per sync' },
  perRuleEvaluated: { value: 10e-9, unit: 's/rule', source: 'assumed: one nftables rule of kube-proxy\'s (1-3 expressions)' },
  perLookup: { value: 40e-9, unit: 's/lookup', source: 'assumed: one hash set/map lookup; DOMAIN.md §7 measured no difference between the first and last of 5,000 services' },
};

function nftablesCost(calibration?: Readonly<Record<string, number>>): CostModel {
  const c = coefficientValues(NFTABLES_COEFFICIENTS, calibration);
  return {
    coefficients: c,
    syncSeconds: (r: SyncResult) => {
      const n = r.counts;
      const created = count(n, 'anonymous_sets_created') + count(n, 'sets_written');
      const scans = created * count(n, 'kernel_sets') + (created * (created - 1)) / 2;
      const runs = count(n, 'transactions');
      return (
        runs * c.nftFixed! +
        count(n, 'transaction_operations') * c.perOperation! +
        scans * c.perSetScan! +
        (runs > 0 ? count(n, 'table_objects') * c.perTableObject! : 0) +
        count(n, 'table_objects') * c.perObjectListed!
      );
    },
    lookupSeconds: (l: LookupResult) => count(l.counts, 'rules_evaluated') * c.perRuleEvaluated! + count(l.counts, 'lookups') * c.perLookup!,
  };
}

export const nftablesDefinition: BackendDefinition<NftablesOptions> = {
  kind: 'nftables',
  title: 'nftables (kube-proxy nftables mode)',
  description:
    'One table `ip kube-proxy`: a verdict-map lookup per first packet, numgen vmap load balancing; each sync is one nft transaction of only the changed elements and chains. First packet O(1), partial sync O(change) written, but nft and the kernel still read and scan the whole table.',
  optionsSchema: NftablesOptions,
  create: (node, o) => new NftablesBackend({ node, serviceCIDRs: o.serviceCIDRs, nodePortAddresses: o.nodePortAddresses, fullSyncPeriod: o.fullSyncPeriod }),
  metrics: NFTABLES_METRICS,
  coefficients: () => NFTABLES_COEFFICIENTS,
  cost: (_o, calibration) => nftablesCost(calibration),
  renderOutputs: {
    nft: { description: 'the table as `nft list ruleset` prints it', render: (b) => b.render()['nft list ruleset'] ?? '' },
    'nft-transaction': {
      description: 'the transaction kube-proxy gave `nft -f` in its last sync',
      render: (b) => (b instanceof NftablesBackend ? b.lastTransaction() : ''),
    },
  },
};
