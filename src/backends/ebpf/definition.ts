import type { BackendDefinition } from '../../types.js';
import { EbpfDataplane, type EbpfOptions } from './backend.js';
import { ebpfCost, EBPF_COEFFICIENTS } from './cost.js';
import { EBPF_METRICS } from './metrics.js';
import { EbpfOptionsSchema } from './options.js';

export const ebpfDefinition: BackendDefinition<EbpfOptions> = {
  kind: 'ebpf',
  title: "eBPF (Cilium's kube-proxy replacement)",
  description:
    "BPF hash maps keyed by (VIP, port, protocol, scope, slot) with a master slot, random slot or Maglev selection, socket-level balancing at connect() for in-node clients and tc/XDP for the rest. First packet O(1) map lookups; an endpoint change rewrites the service's slots (and M-entry Maglev tables).",
  optionsSchema: EbpfOptionsSchema,
  create: (node, o) => new EbpfDataplane(node, o),
  metrics: EBPF_METRICS,
  coefficients: () => EBPF_COEFFICIENTS,
  cost: (_o, calibration) => ebpfCost(calibration),
  renderOutputs: {
    'cilium-lb-list': {
      description: 'the service, backend and reverse-NAT maps as `cilium-dbg bpf lb list` (and --backends, --revnat) prints them',
      render: (b) => (b instanceof EbpfDataplane ? b.renderLbList() : ''),
    },
    raw: {
      description: 'the maps as `bpftool map dump` prints their keys and values (hex of the struct layouts)',
      render: (b) => (b instanceof EbpfDataplane ? b.renderRaw() : ''),
    },
  },
};
