/**
 * The iptables data plane (kube-proxy's iptables mode).
 *
 * - `createIptablesBackend(opts)`: a Backend whose sync() runs kube-proxy's syncProxyRules over a modelled kernel
 *   ruleset and counts exactly what its `iptables-restore --noflush` input holds; lookup() walks nat and filter like
 *   netfilter; render() prints `iptables-save`. Non-interface extras: `lastRestoreInput()`, `serviceOrder()`,
 *   `isLargeClusterMode()`, `tableChains()`.
 * - Chain-name and number helpers (`serviceChainName`, `endpointChainName`, `computeProbability`, ...).
 */
export { iptablesDefinition, IptablesOptions } from './definition.js';
export { IPTABLES_METRICS } from './metrics.js';
export { createIptablesBackend, IptablesBackend, FULL_SYNC_PERIOD, RECENT_LIST_MAX, type IptablesBackendOptions } from './backend.js';
export {
  base32,
  computeProbability,
  endpointChainName,
  formatFixed,
  goHex08,
  hash16,
  kernelProbability,
  portProtoHash,
  saveProbability,
  serviceChainName,
} from './names.js';
export { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from './proxier.js';
export { Chain, Rule } from '../../netfilter/rule.js';
export { saveLine, splitArgs, xtSaveString } from '../../netfilter/save.js';
