/**
 * Modelled time for the eBPF data plane (level 2 of DESIGN.md's four levels): counted work times coefficients.
 *
 * Measured on this project's machine (kernel 6.18, 2 shared cores under load 4-6; `npx tsx scripts/bpf-map-cost.ts`,
 * medians of 3 rounds of 2,000 operations; two runs; details in README.md "Cost notes"):
 * - one BPF hash-map element update through the bpf(2) syscall (the way Cilium's agent writes every service slot,
 *   master, backend and rev-NAT entry: one syscall per element): 0.85-1.4 µs for an existing key, 1.3-1.9 µs for a
 *   new key; a delete 1.3-1.45 µs; flat from 1,000 to 250,000 elements in the map. These include about 0.26 µs of
 *   the measuring helper's own call overhead (Python ctypes; a getppid through the same path).
 * - a Maglev table write as Cilium does it (create an inner array map holding one M x u32 element, write it, close
 *   it; the outer map update is one more element update): 8.6 µs at M=251, 16-23 µs at M=1,021-16,381, 44 µs at
 *   M=65,521: about 9 µs fixed plus about 0.9 ns per entry.
 * - a BPF hash-map lookup from a BPF program (an XDP program calling bpf_map_lookup_elem 64 times, run with
 *   BPF_PROG_TEST_RUN): 9.4-9.5 ns for a hit, 5.5 ns for a miss, the same at 1,000 and 100,000 elements. One key,
 *   so caches are hot: a best case for a real first packet.
 * Assumed, not measured: the fixed cost of the hook that balances the first packet (150 ns tc, 60 ns XDP; socket
 * LB runs once at connect(), 100 ns) and a conntrack entry created by the datapath (50 ns). The agent's own CPU
 * work (computing Maglev permutations, statedb) is not modelled.
 */
import type { DatapathResult } from './datapath.js';
import type { AgentSyncCounts } from './reconciler.js';

export interface EbpfCoefficients {
  /** Seconds per map element update (service slot, master, backend, rev-NAT, Maglev outer entry). */
  perElementUpdate: number;
  /** Seconds per map element delete. */
  perElementDelete: number;
  /** Seconds per Maglev table written, fixed part (inner map create, write, close). */
  maglevTableFixed: number;
  /** Seconds per Maglev table entry written. */
  perMaglevEntry: number;
  /** Seconds per BPF map lookup on the first packet's path (measured hit, cache-hot). */
  perMapLookup: number;
  /** Seconds per map element written by the datapath (conntrack entry; assumed). */
  perDatapathUpdate: number;
  /** Fixed cost of the hook that balances the first packet (assumed). */
  hookTc: number;
  hookXdp: number;
  hookSocket: number;
}

export const DEFAULT_EBPF_COEFFICIENTS: EbpfCoefficients = {
  perElementUpdate: 1.0e-6,
  perElementDelete: 1.4e-6,
  maglevTableFixed: 9e-6,
  perMaglevEntry: 0.9e-9,
  perMapLookup: 9.5e-9,
  perDatapathUpdate: 50e-9,
  hookTc: 150e-9,
  hookXdp: 60e-9,
  hookSocket: 100e-9,
};

/** Modelled duration of one agent sync. */
export function syncSeconds(c: AgentSyncCounts, k: EbpfCoefficients = DEFAULT_EBPF_COEFFICIENTS): number {
  const updates = c.svc_updates + c.backend_updates + c.revnat_updates + c.maglev_table_writes;
  const deletes = c.svc_deletes + c.backend_deletes + c.revnat_deletes + c.maglev_deletes;
  return updates * k.perElementUpdate + deletes * k.perElementDelete + c.maglev_table_writes * k.maglevTableFixed + c.maglev_entries_written * k.perMaglevEntry;
}

/** Modelled classification time of a first packet (zero for packets that are not service traffic beyond the hook). */
export function lookupSeconds(r: Pick<DatapathResult, 'path' | 'counts'>, k: EbpfCoefficients = DEFAULT_EBPF_COEFFICIENTS): number {
  const hook = r.path === 'socket' ? k.hookSocket : r.path === 'xdp' ? k.hookXdp : k.hookTc;
  return hook + r.counts.map_lookups * k.perMapLookup + r.counts.map_updates * k.perDatapathUpdate;
}
