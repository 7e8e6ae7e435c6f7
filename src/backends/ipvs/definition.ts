import type { BackendDefinition, CoefficientSet, CostModel, LookupResult, SyncResult } from '../../types.js';
import { coefficientValues, count } from '../../proxy/cost.js';
import { ipvsKernelSupport } from './kernel-mode.js';
import { IPTABLES_RESTORE_COEFFICIENTS, IPTABLES_WALK_COEFFICIENTS } from '../../netfilter/cost.js';
import { IpvsProxier } from './proxier.js';
import { IPVS_METRICS } from './metrics.js';
import { IpvsOptions } from './options.js';

/**
 * IPVS mode's own coefficients (beside the iptables-restore of its fixed rules). IPVS could not be measured on
 * this project's machines (no ip_vs module); what is measured is marked so.
 */
const IPVS_COEFFICIENTS: CoefficientSet = {
  perIpvsOp: { value: 12e-6, unit: 's/op', source: 'measured: an rtnetlink request/response through `ip -batch` took 12 us (load ~5)' },
  perIpsetOp: {
    value: 2e-3,
    unit: 's/op',
    source: 'assumed: one `ipset` process per entry; a process start took 13-17 ms under load, 2 ms assumed for an idle node',
  },
  perAddressOp: { value: 12e-6, unit: 's/op', source: 'measured: an rtnetlink request/response through `ip -batch` took 12 us' },
  perNetlinkRead: { value: 5e-6, unit: 's/message', source: 'assumed: a netlink message read back' },
  perIpsetList: { value: 2e-3, unit: 's/call', source: 'assumed: one `ipset list` process per set, like perIpsetOp' },
  perHashProbe: { value: 5e-9, unit: 's/probe', source: 'assumed: one IPVS hash-chain probe' },
  perSetLookup: { value: 20e-9, unit: 's/lookup', source: 'assumed: one ipset membership test' },
};

const ALL: CoefficientSet = { ...IPTABLES_RESTORE_COEFFICIENTS, ...IPTABLES_WALK_COEFFICIENTS, ...IPVS_COEFFICIENTS };

function ipvsCost(calibration?: Readonly<Record<string, number>>): CostModel {
  const c = coefficientValues(ALL, calibration);
  return {
    coefficients: c,
    syncSeconds: (r: SyncResult) => {
      const n = r.counts;
      let t = 0;
      if (count(n, 'restores') > 0)
        t += c.restoreFixed! + count(n, 'rules_written') * c.perRuleWritten! + count(n, 'rules_in_kernel') * c.perRuleInKernel!;
      t +=
        count(n, 'ipvs_operations') * c.perIpvsOp! +
        count(n, 'ipset_operations') * c.perIpsetOp! +
        count(n, 'address_operations') * c.perAddressOp!;
      t += count(n, 'netlink_reads') * c.perNetlinkRead! + count(n, 'ipset_list_calls') * c.perIpsetList!;
      return t;
    },
    lookupSeconds: (l: LookupResult) =>
      count(l.counts, 'rules_evaluated') * c.perRuleEvaluated! +
      count(l.counts, 'hash_probes') * c.perHashProbe! +
      count(l.counts, 'set_lookups') * c.perSetLookup!,
  };
}

export const ipvsDefinition: BackendDefinition<IpvsOptions> = {
  kind: 'ipvs',
  title: 'IPVS (kube-proxy IPVS mode, deprecated)',
  description:
    'One IPVS virtual server per service port found by a hash lookup, ipsets for the fixed iptables rules, incremental netlink updates; kube-proxy still reads every virtual server back each sync. Deprecated upstream since 1.35.',
  optionsSchema: IpvsOptions,
  create: (node, o) => new IpvsProxier({ node, scheduler: o.scheduler, svcTable: o.serviceTable }),
  kernel: ipvsKernelSupport<IpvsOptions>((cc, o) => new IpvsProxier({ node: cc.node, scheduler: o.scheduler, svcTable: o.serviceTable })),
  metrics: IPVS_METRICS,
  coefficients: () => ALL,
  cost: (_o, calibration) => ipvsCost(calibration),
  // the IPv6 proxier is rendered (inet6 sets, IPv6 virtual servers, ip6tables rules); its first packets are not walked
  ipFamilies: ['IPv4', 'IPv6'],
  renderOutputs: {
    ipvsadm: { description: 'virtual and real servers as `ipvsadm -S -n` prints them', render: (b) => pick(b.render(), 'ipvsadm') },
    ipset: { description: 'the sets as `ipset save` prints them', render: (b) => pick(b.render(), 'ipset') },
    'ip-addr': {
      description: 'the kube-ipvs0 addresses as `ip addr show kube-ipvs0` prints them',
      render: (b) => pick(b.render(), 'ip addr'),
    },
    'iptables-save': {
      description: 'the fixed nat and filter rules as iptables-save prints them',
      render: (b) => pick(b.render(), 'iptables-save'),
    },
  },
};

/** The printout whose command starts with `prefix`. */
function pick(r: Record<string, string>, prefix: string): string {
  const k = Object.keys(r).find((x) => x.startsWith(prefix));
  return k === undefined ? '' : r[k]!;
}
