/**
 * The nftables data plane (kube-proxy's nftables mode, GA since v1.33): the proxier's transactions over a modelled
 * `ip kube-proxy` table, the first-packet walk, the `nft list ruleset` and `nft -f` texts, and the definition the
 * registry lists.
 */
export { nftablesDefinition, NftablesOptions, NFTABLES_COEFFICIENTS } from './definition.js';
export { NftablesBackend, createNftablesBackend, proxierConfig, syncCountsOf, type NftablesBackendOptions } from './backend.js';
export { NFTABLES_METRICS } from './metrics.js';
export {
  NftProxier,
  KUBE_PROXY_TABLE,
  BASE_CHAINS,
  JUMP_CHAINS,
  isProxiable,
  type NftProxierConfig,
  type NftSyncCounts,
} from './proxier.js';
export { NftTable, opText, transactionText, elementOrder, nftTime, priorityText, type Op } from './table.js';
export { RuleBuilder, type NftRule, type Family } from './rules.js';
export { NftWalker, type NftLookup } from './lookup.js';
export { hash8, hashAndTruncate, servicePortChainNameBase, endpointChainNameBase, masqueradeMarkText } from './names.js';
export { syntheticSnapshot, SYNTHETIC_NODE } from './synthetic.js';
