/**
 * Modelled time for the eBPF data plane (level 2 of DESIGN.md's four levels): counted work times coefficients.
 *
 * Measured on this project's machine (kernel 6.18, 2 shared cores under load 4-8; `npx tsx scripts/bpf-map-cost.ts`,
 * medians of 3 rounds of 2,000 operations; three runs; details in README.md "Cost notes"):
 * - one BPF hash-map element update through the bpf(2) syscall (the way Cilium's agent writes every service slot,
 *   master, backend and rev-NAT entry: one syscall per element): 0.85-1.4 µs for an existing key, 1.3-1.9 µs for a
 *   new key; a delete 1.3-1.5 µs (quiet runs); flat from 1,000 to 250,000 elements in the map. These include about
 *   0.26 µs of the measuring helper's own call overhead (Python ctypes; a getppid through the same path).
 * - a Maglev table write as Cilium does it (create an inner array map holding one M x u32 element, write it, close
 *   it; the outer map update is one more element update): 6-9 µs at M=251, 23-34 µs at M=16,381, 44 µs at
 *   M=65,521 in the quieter run: about 9 µs fixed plus about 0.9 ns per entry.
 * - a BPF hash-map lookup from a BPF program (an XDP program calling bpf_map_lookup_elem 64 times, run with
 *   BPF_PROG_TEST_RUN): 9.0-9.5 ns for a hit, 5.4-6.8 ns for a miss, the same from 1,000 to 250,000 elements. One
 *   key, so caches are hot: a best case for a real first packet.
 * Assumed, not measured: the fixed cost of the hook that balances the first packet (150 ns tc, 60 ns XDP; socket
 * LB runs once at connect(), 100 ns) and a conntrack entry created by the datapath (50 ns). The agent's own CPU
 * work (computing Maglev permutations, statedb) is not modelled.
 */
import type { CoefficientSet, CostModel, LookupResult, SyncResult } from '../../types.js';
import { coefficientValues, count } from '../../proxy/cost.js';

const RUN = 'measured: `npx tsx scripts/bpf-map-cost.ts`, kernel 6.18, bpf(2) from Python ctypes, medians over map sizes 1k-250k';

export const EBPF_COEFFICIENTS: CoefficientSet = {
  perElementUpdate: {
    value: 1.0e-6,
    unit: 's/element',
    source: `${RUN}: 0.85-1.4 us per update of an existing key, 1.3-1.9 us for a new key (quiet runs)`,
  },
  perElementDelete: { value: 1.4e-6, unit: 's/element', source: `${RUN}: 1.3-1.5 us per delete (quiet runs)` },
  maglevTableFixed: { value: 9e-6, unit: 's/table', source: `${RUN}: inner array map create + write + close, 6-9 us at M=251` },
  perMaglevEntry: { value: 0.9e-9, unit: 's/entry', source: `${RUN}: (44 us at M=65521 - 9 us) / 65521 entries, 23 us at M=16381` },
  perMapLookup: {
    value: 9.5e-9,
    unit: 's/lookup',
    source: 'measured: BPF_PROG_TEST_RUN of an XDP program making 64 hash lookups, 9.0-9.5 ns per hit (cache-hot best case)',
  },
  perDatapathUpdate: {
    value: 50e-9,
    unit: 's/element',
    source: 'assumed: a conntrack (or socket rev-NAT, affinity) entry written by the datapath',
  },
  hookTc: { value: 150e-9, unit: 's/packet', source: 'assumed: fixed cost of the tc program on the first packet' },
  hookXdp: { value: 60e-9, unit: 's/packet', source: 'assumed: fixed cost of the XDP program on the first packet' },
  hookSocket: { value: 100e-9, unit: 's/connection', source: 'assumed: fixed cost of the cgroup connect hook (once per connection)' },
};

/** The eBPF cost model: element writes per sync (Maglev tables apart), map lookups per first packet. */
export function ebpfCost(calibration?: Readonly<Record<string, number>>): CostModel {
  const c = coefficientValues(EBPF_COEFFICIENTS, calibration);
  return {
    coefficients: c,
    syncSeconds: (r: SyncResult) => {
      const n = r.counts;
      return (
        count(n, 'element_updates') * c.perElementUpdate! +
        count(n, 'element_deletes') * c.perElementDelete! +
        count(n, 'maglev_tables_written') * c.maglevTableFixed! +
        count(n, 'maglev_entries_written') * c.perMaglevEntry!
      );
    },
    lookupSeconds: (l: LookupResult) => {
      const n = l.counts;
      return (
        count(n, 'socket_translations') * c.hookSocket! +
        count(n, 'tc_path') * c.hookTc! +
        count(n, 'xdp_path') * c.hookXdp! +
        count(n, 'map_lookups') * c.perMapLookup! +
        count(n, 'map_updates') * c.perDatapathUpdate!
      );
    },
  };
}
