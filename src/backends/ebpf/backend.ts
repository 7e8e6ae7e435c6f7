/**
 * The eBPF data plane on one node, Cilium's kube-proxy replacement: the agent's reconciler writing the LB maps
 * (reconciler.ts), the datapath classifying first packets (datapath.ts), the map listings (render.ts). Counts are
 * plain records keyed by the metric names of this backend's catalogue (definition.ts).
 */
import type { Backend, Counts, LookupResult, Packet, ProxyNodeConfig, Rng, Seconds, SyncRequest, SyncResult } from '../../types.js';
import { type AffinityTable, type DatapathOptions, type DatapathResult, lookupPacket } from './datapath.js';
import {
  BACKEND_KEY_BYTES,
  BACKEND_VALUE_BYTES,
  REVNAT_KEY_BYTES,
  REVNAT_VALUE_BYTES,
  SERVICE_KEY_BYTES,
  SERVICE_VALUE_BYTES,
} from './lbmaps.js';
import { DEFAULT_MAGLEV_SEED, DEFAULT_MAGLEV_TABLE_SIZE, parseMaglevSeed } from './maglev.js';
import { CiliumLb, type AgentSyncCounts, type LbAlgorithm } from './reconciler.js';
import { renderCiliumLbList, renderBackendList, renderLbList, renderRaw, renderRevNatList } from './render.js';

export interface EbpfOptions {
  /** --bpf-lb-algorithm [random]. */
  algorithm: LbAlgorithm;
  /** --bpf-lb-maglev-table-size [16381], a prime. */
  maglevTableSize: number;
  /** --bpf-lb-maglev-hash-seed [JLfvgnHc2kaSUFaI]. */
  maglevSeed: string;
  /** Socket-level LB for clients on the node (--bpf-lb-sock) [true]. */
  socketLB: boolean;
  /** Where outside traffic is balanced: tc [default] or XDP (--bpf-lb-acceleration=native). */
  mode: 'tc' | 'xdp';
  /** --bpf-lb-external-clusterip [false]. */
  externalClusterIP: boolean;
}

export const DEFAULT_EBPF_OPTIONS: EbpfOptions = {
  algorithm: 'random',
  maglevTableSize: DEFAULT_MAGLEV_TABLE_SIZE,
  maglevSeed: DEFAULT_MAGLEV_SEED,
  socketLB: true,
  mode: 'tc',
  externalClusterIP: false,
};

export interface EbpfSyncResult extends SyncResult {
  detail: AgentSyncCounts;
}

export interface EbpfLookupResult extends LookupResult {
  path: DatapathResult['path'];
}

/** Sync counts as catalogue rows: per-map element operations, Maglev entries apart, and per endpoint change. */
export function syncCounts(c: AgentSyncCounts): Counts {
  const out: Counts = {
    elements_written: c.elements_written,
    element_updates: c.svc_updates + c.backend_updates + c.revnat_updates + c.maglev_table_writes,
    element_deletes: c.svc_deletes + c.backend_deletes + c.revnat_deletes + c.maglev_deletes,
    svc_elements_written: c.svc_updates + c.svc_deletes,
    backend_elements_written: c.backend_updates + c.backend_deletes,
    revnat_elements_written: c.revnat_updates + c.revnat_deletes,
    maglev_tables_written: c.maglev_table_writes,
    maglev_entries_written: c.maglev_entries_written,
    frontends_reconciled: c.frontends_reconciled,
    service_id_errors: c.service_id_errors,
    endpoint_changes: c.endpoint_changes,
  };
  if (c.endpoint_changes > 0) {
    out.elements_per_endpoint_change = c.elements_written / c.endpoint_changes;
    out.maglev_entries_per_endpoint_change = c.maglev_entries_written / c.endpoint_changes;
  }
  return out;
}

export class EbpfDataplane implements Backend {
  readonly kind = 'ebpf';
  readonly lb: CiliumLb;
  private readonly dp: DatapathOptions;
  private readonly affinity: AffinityTable = new Map();
  private synced = false;

  constructor(
    readonly node: ProxyNodeConfig,
    readonly options: EbpfOptions = DEFAULT_EBPF_OPTIONS,
  ) {
    this.lb = new CiliumLb(node, {
      algorithm: options.algorithm,
      maglevTableSize: options.maglevTableSize,
      maglevSeed: options.maglevSeed,
      externalClusterIP: options.externalClusterIP,
    });
    this.dp = { socketLB: options.socketLB, mode: options.mode, jhashSeed: parseMaglevSeed(options.maglevSeed).jhash0 };
  }

  /** The first sync reconciles everything; later ones only the changed service ports. */
  sync(req: SyncRequest): EbpfSyncResult {
    const full = !this.synced;
    this.synced = true;
    const detail = this.lb.sync(req.snapshot, full ? null : req.changed);
    return { mode: full ? 'full' : 'partial', counts: syncCounts(detail), detail };
  }

  lookup(pkt: Packet, rng: Rng, now: Seconds): EbpfLookupResult {
    const r = lookupPacket(this.lb, this.node, this.dp, this.affinity, pkt, rng, now);
    const counts: Counts = { ...r.counts, tc_path: r.path === 'tc' ? 1 : 0, xdp_path: r.path === 'xdp' ? 1 : 0 };
    return { verdict: r.verdict, endpoint: r.endpoint, serviceKey: r.serviceKey, masquerade: r.masquerade, path: r.path, counts };
  }

  render(): Record<string, string> {
    return {
      'cilium-dbg bpf lb list': renderLbList(this.lb),
      'cilium-dbg bpf lb list --backends': renderBackendList(this.lb),
      'cilium-dbg bpf lb list --revnat': renderRevNatList(this.lb),
      'bpftool map dump': renderRaw(this.lb),
    };
  }

  renderLbList(): string {
    return renderCiliumLbList(this.lb);
  }

  renderRaw(): string {
    return renderRaw(this.lb);
  }

  size(): Counts {
    const svc = this.lb.services.size;
    const be = this.lb.backends.size;
    const rn = this.lb.revNat.size;
    const tables = this.lb.maglev.size;
    const maglevEntries = tables * this.options.maglevTableSize;
    return {
      svc_entries: svc,
      backend_entries: be,
      revnat_entries: rn,
      frontends: this.lb.frontendCount(),
      maglev_tables: tables,
      maglev_entries: maglevEntries,
      map_bytes:
        svc * (SERVICE_KEY_BYTES + SERVICE_VALUE_BYTES) +
        be * (BACKEND_KEY_BYTES + BACKEND_VALUE_BYTES) +
        rn * (REVNAT_KEY_BYTES + REVNAT_VALUE_BYTES) +
        maglevEntries * 4,
    };
  }
}
