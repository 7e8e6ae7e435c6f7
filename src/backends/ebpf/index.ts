/**
 * The eBPF data plane: Cilium's kube-proxy replacement (BPF hash maps, Maglev, socket-level balancing).
 * See README.md in this folder for sources, choices and cost notes.
 */
export { EbpfDataplane, DEFAULT_EBPF_OPTIONS, syncCounts } from './backend.js';
export type { EbpfOptions, EbpfSyncResult, EbpfLookupResult } from './backend.js';
export {
  maglevTable,
  maglevTableFromNames,
  maglevTableForAddresses,
  backendHashString,
  parseMaglevSeed,
  runLengthEncode,
  isPrime,
  DEFAULT_MAGLEV_SEED,
  DEFAULT_MAGLEV_TABLE_SIZE,
  DEFAULT_BACKEND_WEIGHT,
  CILIUM_MAGLEV_TABLE_SIZES,
} from './maglev.js';
export type { MaglevBackend, MaglevSeeds } from './maglev.js';
export { murmur3Hash128 } from './murmur3.js';
export { CiliumLb } from './reconciler.js';
export type { AgentOptions, AgentSyncCounts, LbAlgorithm } from './reconciler.js';
export { lookupPacket, jhash3words, maglevTupleHash } from './datapath.js';
export type { DatapathOptions, DatapathResult, DatapathCounts, DatapathPath } from './datapath.js';
export { renderLbList, renderBackendList, renderRevNatList, renderCiliumLbList, renderRaw, tablePrinter, hexBytes } from './render.js';
export { desiredFrontends, serviceBackends, nodePortAddresses } from './frontends.js';
export type { DesiredFrontend, DesiredBackend } from './frontends.js';
export { EBPF_COEFFICIENTS, ebpfCost } from './cost.js';
export { EBPF_METRICS } from './metrics.js';
export { EbpfOptionsSchema } from './options.js';
export { ebpfDefinition } from './definition.js';
export * as lbmaps from './lbmaps.js';
