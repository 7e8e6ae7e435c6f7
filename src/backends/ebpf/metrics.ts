import type { BackendCatalogue } from '../../metrics/catalogue.js';

/**
 * The counts of the eBPF data plane (Cilium's kube-proxy replacement). size(): map entries after the sync.
 * sync(): the map element updates and deletes the agent issues (one bpf syscall each), Maglev entries written
 * (M per table rewrite) counted apart, and both per endpoint change. lookup(): BPF map lookups on the first
 * packet's path, by map.
 */
export const EBPF_METRICS = {
  size: {
    svc_entries: {
      unit: 'entries',
      better: 'lower',
      description: 'cilium_lb4_services_v2 entries (masters and backend slots)',
      headline: 'service map entries',
    },
    backend_entries: { unit: 'entries', better: 'none', description: 'cilium_lb4_backends_v3 entries' },
    revnat_entries: { unit: 'entries', better: 'none', description: 'cilium_lb4_reverse_nat entries (one per frontend)' },
    frontends: {
      unit: 'frontends',
      better: 'none',
      description: 'frontends (ClusterIP, NodePort per address and surrogate, LoadBalancer, externalIPs, internal scopes)',
    },
    maglev_tables: { unit: 'tables', better: 'none', description: 'Maglev lookup tables (cilium_lb4_maglev inner maps)' },
    maglev_entries: { unit: 'entries', better: 'lower', description: 'backend IDs held in Maglev tables (tables x M)' },
    map_bytes: { unit: 'bytes', better: 'lower', description: 'bytes of keys and values in the LB maps' },
  },
  sync: {
    elements_written: {
      unit: 'elements',
      better: 'lower',
      description: 'map element updates and deletes (one bpf syscall each; Maglev entries not included)',
      stats: ['mean', 'p50', 'max'],
      headline: 'map elements written',
    },
    element_updates: {
      unit: 'elements',
      better: 'lower',
      description: 'map element updates (service slots and masters, backends, rev-NAT, Maglev outer entries)',
    },
    element_deletes: { unit: 'elements', better: 'lower', description: 'map element deletes' },
    svc_elements_written: {
      unit: 'elements',
      better: 'lower',
      description: 'service map updates and deletes (every slot of a changed frontend is rewritten)',
    },
    backend_elements_written: { unit: 'elements', better: 'lower', description: 'backend map updates and deletes' },
    revnat_elements_written: { unit: 'elements', better: 'lower', description: 'reverse-NAT map updates and deletes' },
    maglev_tables_written: { unit: 'tables', better: 'lower', description: 'Maglev tables rewritten (a new inner map each)' },
    maglev_entries_written: {
      unit: 'entries',
      better: 'lower',
      description: 'Maglev table entries written (M per table rewrite)',
      headline: 'Maglev entries written',
    },
    frontends_reconciled: { unit: 'frontends', better: 'lower', description: 'frontends updated or deleted' },
    service_id_errors: {
      unit: 'frontends',
      better: 'lower',
      description:
        'frontends not programmed for want of a service ID (16-bit rev-NAT IDs, MaxSetOfServiceID 0xFFFF: at most 65,535 per node); the agent retries',
      stats: ['mean', 'max'],
    },
    endpoint_changes: { unit: 'changes', better: 'none', description: 'backends added, removed or changing state in a service port' },
    elements_per_endpoint_change: {
      unit: 'elements',
      better: 'lower',
      description: 'map elements written per endpoint change (syncs that changed endpoints)',
      initial: false,
    },
    maglev_entries_per_endpoint_change: {
      unit: 'entries',
      better: 'lower',
      description: 'Maglev entries written per endpoint change (syncs that changed endpoints)',
      initial: false,
    },
  },
  lookup: {
    map_lookups: {
      unit: 'lookups',
      better: 'lower',
      description: 'BPF map lookups',
      stats: ['mean', 'p50', 'p99', 'max'],
      headline: 'map lookups',
    },
    svc_lookups: { unit: 'lookups', better: 'lower', description: 'service map lookups (frontend, internal scope, NodePort wildcard)' },
    ct_lookups: { unit: 'lookups', better: 'lower', description: 'conntrack map lookups (tc/XDP path)' },
    slot_lookups: { unit: 'lookups', better: 'lower', description: 'service map lookups of a backend slot (random selection)' },
    maglev_lookups: { unit: 'lookups', better: 'lower', description: 'Maglev outer and inner map lookups' },
    backend_lookups: { unit: 'lookups', better: 'lower', description: 'backend map lookups' },
    affinity_lookups: { unit: 'lookups', better: 'lower', description: 'session affinity map lookups' },
    map_updates: {
      unit: 'elements',
      better: 'lower',
      description: 'map elements written by the datapath (conntrack entry, socket rev-NAT, affinity)',
    },
    socket_translations: {
      unit: 'connections',
      better: 'none',
      description: 'connections translated once at connect() by the socket hook (later packets cost nothing)',
    },
    tc_path: { unit: 'packets', better: 'none', description: 'first packets balanced by the tc program' },
    xdp_path: { unit: 'packets', better: 'none', description: 'first packets balanced by the XDP program' },
  },
} as const satisfies BackendCatalogue;
