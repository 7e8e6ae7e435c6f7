import type { BackendCatalogue, CountsOf } from '../../metrics/catalogue.js';

/**
 * The counts of kube-proxy's IPVS mode. sync(): the iptables-restore of its fixed rules, the IPVS, ipset and
 * kube-ipvs0 address operations (one netlink request or one `ipset` process each), and the reads kube-proxy makes
 * on every sync although nothing changed (every virtual server read back, every ipset listed). lookup(): the fixed
 * iptables rules walked, ipset membership tests, and IPVS service-table probes.
 */
export const IPVS_METRICS = {
  size: {
    iptables_rules: {
      unit: 'rules',
      better: 'lower',
      description: 'iptables rules in the nat and filter tables',
      headline: 'iptables rules',
    },
    iptables_chains: { unit: 'chains', better: 'lower', description: 'iptables chains in the nat and filter tables' },
    ipvs_virtual_servers: { unit: 'servers', better: 'none', description: 'IPVS virtual servers' },
    ipvs_real_servers: { unit: 'servers', better: 'none', description: 'IPVS real servers' },
    ipset_entries: { unit: 'entries', better: 'none', description: 'ipset entries' },
  },
  sync: {
    rules_written: {
      unit: 'rules',
      better: 'lower',
      description: 'iptables rules in the restore input',
      stats: ['mean', 'p50', 'max'],
      headline: 'rules written',
    },
    bytes_written: { unit: 'bytes', better: 'lower', description: 'bytes of restore input, netlink and ipset requests' },
    chains_written: { unit: 'chains', better: 'lower', description: 'chains declared in the restore input' },
    rules_in_kernel: { unit: 'rules', better: 'lower', description: 'iptables rules in the kernel tables after the sync' },
    restores: { unit: 'restores', better: 'lower', description: 'iptables-restore runs (0 for graceful-termination housekeeping)' },
    operations: { unit: 'ops', better: 'lower', description: 'IPVS, ipset and address operations', headline: 'IPVS/ipset/address ops' },
    ipvs_operations: {
      unit: 'ops',
      better: 'lower',
      description: 'IPVS virtual and real server adds, updates and deletes (netlink requests)',
    },
    ipset_operations: { unit: 'ops', better: 'lower', description: 'ipset entry adds and deletes (one ipset process each)' },
    address_operations: { unit: 'ops', better: 'lower', description: 'kube-ipvs0 address adds and deletes' },
    virtual_servers_added: { unit: 'servers', better: 'none', description: 'IPVS virtual servers added' },
    virtual_servers_updated: { unit: 'servers', better: 'none', description: 'IPVS virtual servers updated' },
    virtual_servers_deleted: { unit: 'servers', better: 'none', description: 'IPVS virtual servers deleted' },
    real_servers_added: { unit: 'servers', better: 'none', description: 'IPVS real servers added' },
    real_servers_updated: { unit: 'servers', better: 'none', description: 'IPVS real servers updated (weight 0 for graceful termination)' },
    real_servers_deleted: { unit: 'servers', better: 'none', description: 'IPVS real servers deleted' },
    ipset_entries_added: { unit: 'entries', better: 'none', description: 'ipset entries added' },
    ipset_entries_deleted: { unit: 'entries', better: 'none', description: 'ipset entries deleted' },
    addresses_added: { unit: 'addresses', better: 'none', description: 'kube-ipvs0 addresses added' },
    addresses_deleted: { unit: 'addresses', better: 'none', description: 'kube-ipvs0 addresses deleted' },
    restore_bytes: { unit: 'bytes', better: 'lower', description: 'bytes of the iptables-restore input' },
    netlink_bytes: { unit: 'bytes', better: 'lower', description: 'estimated bytes of the IPVS and rtnetlink requests' },
    ipset_bytes: { unit: 'bytes', better: 'lower', description: 'estimated bytes of the ipset requests' },
    jump_rules_inserted: { unit: 'rules', better: 'none', description: 'rules inserted into built-in chains with iptables -I' },
    netlink_reads: {
      unit: 'messages',
      better: 'lower',
      description: 'netlink reads although nothing changed (virtual servers read back, dumps)',
    },
    ipset_list_calls: { unit: 'calls', better: 'lower', description: '`ipset list` calls (one per set)' },
    ipset_add_errors: {
      unit: 'entries',
      better: 'lower',
      description:
        'ipset entries the kernel refused (set full at maxelem 65536, "Hash is full"); kube-proxy logs them and retries every sync',
      stats: ['mean', 'max'],
    },
    ipset_entries_listed: { unit: 'entries', better: 'lower', description: 'entries returned by the `ipset list` calls' },
    graceful_pending: { unit: 'servers', better: 'none', description: 'real servers waiting in the graceful-termination list' },
  },
  lookup: {
    rules_evaluated: {
      unit: 'rules',
      better: 'lower',
      description: 'iptables rules evaluated',
      stats: ['mean', 'p50', 'p99', 'max'],
      headline: 'rules walked',
    },
    hash_probes: { unit: 'probes', better: 'lower', description: 'IPVS service-table probes' },
    set_lookups: { unit: 'lookups', better: 'lower', description: 'ipset membership tests' },
  },
} as const satisfies BackendCatalogue;

export type IpvsSizeCounts = CountsOf<typeof IPVS_METRICS.size>;
export type IpvsSyncCounts = CountsOf<typeof IPVS_METRICS.sync>;
export type IpvsLookupCounts = CountsOf<typeof IPVS_METRICS.lookup>;
