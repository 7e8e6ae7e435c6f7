import type { BackendKind, LookupResult, Seconds, SyncResult } from '../types.js';

/**
 * Coefficients that turn counted work into modelled time. Sources (DOMAIN.md §7 unless marked otherwise):
 * - iptables-restore with legacy iptables: ~3.5 µs per rule already in the kernel table (the whole table blob is
 *   copied and replaced on any change: a single-rule insert took 0.035 s at 10,000 rules, 0.36 s at 100,000) plus
 *   ~3.5 µs per rule in the restore input (a whole-table restore took about twice the single insert: 0.07 s at
 *   10,000 rules, 0.72 s at 100,000).
 * - a first packet walking the nat table: ~3 ns per rule evaluated (legacy; last minus first of 1,000 / 5,000 /
 *   10,000 / 20,000 services: 4, 16, 31, 58 µs).
 * - IPVS could not be measured here (this kernel has no IPVS module). Netlink: an rtnetlink request/response
 *   through `ip -batch` took 12 µs here (load ~5, printing included): used for an IPVS write operation or a
 *   kube-ipvs0 address change; 5 µs (assumed) per netlink message read back (kube-proxy re-reads the virtual
 *   servers every sync).
 * - ipset: kube-proxy runs one `ipset add`/`del` process per entry and one `ipset list` per set each sync; a
 *   process start took 13-17 ms here under load, 2 ms is assumed for a node that is not overloaded.
 * - assumed: 5 ns per IPVS hash-chain probe and 20 ns per ipset membership test.
 * - assumed: 1 ms fixed per iptables-restore invocation (process start, reading the current tables).
 */
export interface CostCoefficients {
  restoreFixed: Seconds;
  perRuleWritten: Seconds;
  perRuleInKernel: Seconds;
  perIpvsOp: Seconds;
  perIpsetOp: Seconds;
  perIpsetList: Seconds;
  perNetlinkRead: Seconds;
  perAddressOp: Seconds;
  perRuleEvaluated: Seconds;
  perHashProbe: Seconds;
  perSetLookup: Seconds;
}

export const DEFAULT_COSTS: CostCoefficients = {
  restoreFixed: 1e-3,
  perRuleWritten: 3.5e-6,
  perRuleInKernel: 3.5e-6,
  perIpvsOp: 12e-6,
  perIpsetOp: 2e-3,
  perIpsetList: 2e-3,
  perNetlinkRead: 5e-6,
  perAddressOp: 12e-6,
  perRuleEvaluated: 3e-9,
  perHashProbe: 5e-9,
  perSetLookup: 20e-9,
};

export class CostModel {
  readonly c: CostCoefficients;
  constructor(c: Partial<CostCoefficients> = {}) {
    this.c = { ...DEFAULT_COSTS, ...c };
  }

  /** Modelled duration of one sync. The backend kind does not change the coefficients: the counts carry the difference. */
  syncSeconds(r: SyncResult, _kind?: BackendKind): Seconds {
    const c = this.c;
    let t = 0;
    if (r.iptablesRestored) t += c.restoreFixed + r.rulesWritten * c.perRuleWritten + r.rulesInKernel * c.perRuleInKernel;
    t += r.ipvsOps * c.perIpvsOp + r.ipsetOps * c.perIpsetOp + r.addressOps * c.perAddressOp;
    t += (r.netlinkReads ?? 0) * c.perNetlinkRead + (r.ipsetLists ?? 0) * c.perIpsetList;
    return t;
  }

  /** Modelled classification time of a first packet (conntrack hits cost nothing here: both planes share them). */
  lookupSeconds(l: LookupResult): Seconds {
    const c = this.c;
    return l.rulesEvaluated * c.perRuleEvaluated + l.hashProbes * c.perHashProbe + l.setLookups * c.perSetLookup;
  }
}
