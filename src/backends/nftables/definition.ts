import { z } from 'zod';
import type { BackendDefinition, CoefficientSet, CostModel, LookupResult, SyncResult } from '../../types.js';
import { coefficientValues, count } from '../../proxy/cost.js';
import { NftablesBackend } from './backend.js';
import { NFTABLES_METRICS } from './metrics.js';
import { transactionSupport } from '../../kernel/transactions.js';

/** `proxy.nftables.*` in a scenario: kube-proxy's nftables-mode flags and the cluster facts it watches. */
export const NftablesOptions = z.strictObject({
  serviceCIDRs: z
    .array(
      z
        .string()
        .regex(
          /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]*:[0-9a-fA-F:]*\/\d{1,3})$/,
          'an IPv4 or IPv6 CIDR such as 10.96.0.0/12 or fd00:10:96::/108',
        ),
    )
    .default(['10.96.0.0/12'])
    .describe(
      'the ServiceCIDRs kube-proxy watches: traffic to unallocated ClusterIPs in them is dropped (each proxier takes those of its family; the IPv6 one fd00:10:96::/108 when none is IPv6)',
    ),
  nodePortAddresses: z
    .enum(['primary', 'all'])
    .default('primary')
    .describe("--nodeport-addresses when the node lists none: the primary node IP (nftables mode's default) or every local address"),
  fullSyncPeriod: z.number().positive().default(3600).describe('seconds between forced full syncs (kube-proxy: 1 h)'),
});
export type NftablesOptions = z.infer<typeof NftablesOptions>;

/**
 * Measured with scripts/measure-nftables.ts on this project's machine (nft 1.0.6, kernel 6.18, private network
 * namespaces, CPU time of the nft processes; 2 cores shared with other jobs at load 5-20, so wall time ran 1.5-5x
 * the CPU time and is not used). Fitted on full loads of 100-10,000 services x 10 endpoints and on one-endpoint
 * partial syncs against those tables; see README.md "Cost notes" for the figures and the residuals.
 */
export const NFTABLES_COEFFICIENTS: CoefficientSet = {
  nftProcess: {
    value: 5e-3,
    unit: 's/process',
    source: 'assumed: one nft process (exec, netlink socket, cache setup); below /usr/bin/time resolution here',
  },
  perOperation: { value: 7.8e-6, unit: 's/op', source: 'measured: full loads, 100-3,000 services x 10 endpoints, CPU (fit within 5%)' },
  perOperationSquared: {
    value: 2.0e-10,
    unit: 's/op^2',
    source:
      'measured: full loads grow faster than their operations and set scans explain (0.95 / 6.3 / 18.3 / 108 s CPU at 1k / 3k / 5k / 10k services)',
  },
  perSetScan: {
    value: 2.23e-7,
    unit: 's/scan',
    source:
      'measured: each set created scans the sets already in the table; N chains with a numgen vmap each minus N with a plain goto, N = 2,000-8,000',
  },
  perObjectSquaredRead: {
    value: 1.85e-11,
    unit: 's/object^2',
    source:
      'measured: a 45-operation partial transaction took 0.03 / 0.18 / 0.33 / 2.5 s CPU against 34k / 101k / 168k / 336k chains+rules+sets',
  },
  perObjectListed: {
    value: 0,
    unit: 's/object',
    source:
      'default 0 (the listing measured as quadratic alone); kpbench calibrate fits it: listing and caching the table costs at least a fixed amount per chain, rule and set',
  },
  perObjectSquaredListed: {
    value: 1.08e-10,
    unit: 's/object^2',
    source:
      "measured: kube-proxy's `nft -j list chains` + `list sets` per sync took 0.13 / 0.94 / 2.7 / 17 s CPU at 34k / 101k / 168k / 336k objects",
  },
  firstPacketFixed: {
    value: 0,
    unit: 's/packet',
    source: 'default 0: the model times classification only; a calibration from first-packet round trips (kpbench kernel) sets it',
  },
  perRuleEvaluated: { value: 10e-9, unit: 's/rule', source: "assumed: one nftables rule of kube-proxy's (1-3 expressions)" },
  perLookup: {
    value: 40e-9,
    unit: 's/lookup',
    source:
      'assumed: one hash set/map lookup; the earlier namespace measurements (see src/netfilter/cost.ts) found no difference between the first and last of 5,000 services',
  },
};

/** Kernel set-list scans of a transaction: every set created against every set already there (or created before it). */
export function setScans(counts: Readonly<Record<string, number>>): number {
  const created = count(counts, 'anonymous_sets_created') + count(counts, 'sets_written');
  return created * count(counts, 'kernel_sets') + (created * (created - 1)) / 2;
}

function nftablesCost(calibration?: Readonly<Record<string, number>>): CostModel {
  const c = coefficientValues(NFTABLES_COEFFICIENTS, calibration);
  return {
    coefficients: c,
    syncSeconds: (r: SyncResult) => {
      const n = r.counts;
      const runs = count(n, 'transactions');
      const ops = count(n, 'transaction_operations');
      const objs = count(n, 'table_objects');
      // kube-proxy lists chains and sets (two nft processes), then runs its transaction(s)
      return (
        (2 + runs) * c.nftProcess! +
        objs * c.perObjectListed! +
        objs * objs * c.perObjectSquaredListed! +
        ops * c.perOperation! +
        ops * ops * c.perOperationSquared! +
        setScans(n) * c.perSetScan! +
        (runs > 0 ? objs * objs * c.perObjectSquaredRead! : 0)
      );
    },
    lookupSeconds: (l: LookupResult) =>
      c.firstPacketFixed! + count(l.counts, 'rules_evaluated') * c.perRuleEvaluated! + count(l.counts, 'lookups') * c.perLookup!,
  };
}

export const nftablesDefinition: BackendDefinition<NftablesOptions> = {
  kind: 'nftables',
  title: 'nftables (kube-proxy nftables mode)',
  description:
    'One table `ip kube-proxy`: a verdict-map lookup per first packet, numgen vmap load balancing; each sync is one nft transaction of only the changed elements and chains. First packet O(1), partial sync O(change) written, but nft and the kernel still read and scan the whole table.',
  optionsSchema: NftablesOptions,
  create: (node, o) =>
    new NftablesBackend({ node, serviceCIDRs: o.serviceCIDRs, nodePortAddresses: o.nodePortAddresses, fullSyncPeriod: o.fullSyncPeriod }),
  metrics: NFTABLES_METRICS,
  coefficients: () => NFTABLES_COEFFICIENTS,
  cost: (_o, calibration) => nftablesCost(calibration),
  ipFamilies: ['IPv4', 'IPv6'],
  simulatedIPFamilies: ['IPv4', 'IPv6'],
  kernel: transactionSupport<NftablesOptions>({
    name: 'nftables',
    tool: 'nft',
    args: ['-f', '-'],
    pkg: 'nftables',
    reset: 'flush ruleset\n',
    create: (cc, o) =>
      new NftablesBackend({
        node: cc.node,
        serviceCIDRs: o.serviceCIDRs,
        nodePortAddresses: o.nodePortAddresses,
        fullSyncPeriod: o.fullSyncPeriod,
      }),
    transaction: (b) => (b instanceof NftablesBackend ? b.lastTransaction() : ''),
    // as the proxier does before every transaction (see the README's cost notes)
    readsPerSync: [
      ['-j', 'list', 'chains', 'ip'],
      ['-j', 'list', 'sets', 'ip'],
    ],
  }),
  renderOutputs: {
    nft: { description: 'the table as `nft list ruleset` prints it', render: (b) => b.render()['nft list ruleset'] ?? '' },
    'nft-transaction': {
      description: 'the transaction kube-proxy gave `nft -f` in its last sync',
      render: (b) => (b instanceof NftablesBackend ? b.lastTransaction() : ''),
    },
  },
};
