import type { BackendCatalogue, CountsOf } from '../../metrics/catalogue.js';

/**
 * The counts of kube-proxy's nftables mode. sync(): what the `nft -f` transactions hold (the main one and, when
 * stale chains are due, the deletion before it), exactly: operations, map/set elements added and deleted, rules,
 * chains added / flushed / deleted, bytes; the anonymous sets the kernel creates for them; and what kube-proxy and
 * nft read back every sync (the table's chains, rules and sets). lookup(): rules whose matches were evaluated,
 * set and map lookups (verdict maps, named and anonymous sets, the numgen map), chains entered.
 */
export const NFTABLES_METRICS = {
  size: {
    nft_chains: { unit: 'chains', better: 'lower', description: 'chains in the ip kube-proxy table' },
    nft_rules: { unit: 'rules', better: 'lower', description: 'rules in the ip kube-proxy table' },
    nft_sets: { unit: 'sets', better: 'none', description: 'named sets and maps in the table (affinity sets included)' },
    nft_elements: { unit: 'elements', better: 'none', description: 'elements of the named sets and maps' },
    nft_anonymous_sets: { unit: 'sets', better: 'lower', description: 'anonymous sets the kernel holds for rules (one per numgen vmap)' },
  },
  sync: {
    transaction_operations: {
      unit: 'ops',
      better: 'lower',
      description: 'operations in the nft transaction (knftables NumOperations)',
      stats: ['mean', 'p50', 'max'],
    },
    elements_written: {
      unit: 'elements',
      better: 'lower',
      description: 'map and set elements added or deleted',
      stats: ['mean', 'p50', 'max'],
      headline: 'elements written',
    },
    rules_written: {
      unit: 'rules',
      better: 'lower',
      description: 'rules added by the nft transaction',
      stats: ['mean', 'p50', 'max'],
      headline: 'rules written',
    },
    chains_written: { unit: 'chains', better: 'lower', description: 'chains added (add chain) by the transaction' },
    chains_flushed: { unit: 'chains', better: 'lower', description: 'chains flushed (rewritten or gone stale)' },
    chains_deleted: { unit: 'chains', better: 'lower', description: 'chains deleted (stale chains a second after they were flushed)' },
    sets_written: {
      unit: 'sets',
      better: 'lower',
      description: 'named sets and maps added (affinity sets, and the fixed ones in a full sync)',
    },
    bytes_written: { unit: 'bytes', better: 'lower', description: 'bytes of nft -f input' },
    transactions: {
      unit: 'runs',
      better: 'lower',
      description: 'nft -f runs (stale-chain deletion, main transaction; none when nothing changed)',
    },
    anonymous_sets_created: { unit: 'sets', better: 'lower', description: 'anonymous sets the kernel creates (one per numgen vmap rule)' },
    kernel_sets: {
      unit: 'sets',
      better: 'lower',
      description: 'sets and maps, anonymous ones included, in the table when the transaction starts',
    },
    table_objects: {
      unit: 'objects',
      better: 'lower',
      description: 'chains, rules and sets in the table before the sync (what kube-proxy lists and nft reads back)',
    },
  },
  lookup: {
    rules_evaluated: {
      unit: 'rules',
      better: 'lower',
      description: 'nftables rules evaluated',
      stats: ['mean', 'p50', 'p99', 'max'],
      headline: 'rules walked',
    },
    lookups: { unit: 'lookups', better: 'lower', description: 'set and map lookups (verdict maps, named and anonymous sets, numgen map)' },
    chains_entered: { unit: 'chains', better: 'lower', description: 'chains entered, base chains included' },
  },
} as const satisfies BackendCatalogue;

export type NftablesSizeCounts = CountsOf<typeof NFTABLES_METRICS.size>;
export type NftablesSyncCounts = CountsOf<typeof NFTABLES_METRICS.sync>;
export type NftablesLookupCounts = CountsOf<typeof NFTABLES_METRICS.lookup>;
