import { z } from 'zod';
import type { BackendDefinition, CoefficientSet, CostModel, LookupResult, SyncResult } from '../../types.js';
import { coefficientValues, count } from '../../proxy/cost.js';
import { iptablesCoefficients } from './cost.js';
import { IptablesBackend } from './backend.js';
import { IPTABLES_METRICS } from './metrics.js';
import { iptablesKernelSupport } from './kernel-mode.js';
import { IPTABLES_CLI_COEFFICIENTS } from './cli-cost.js';
import { KUBE_PROXY_PROFILES } from './profiles.js';

/** `proxy.iptables.*` in a scenario: kube-proxy's iptables-mode flags and the host facts it probes. */
export const IptablesOptions = z.strictObject({
  writeMethod: z
    .enum(['restore-minimized', 'restore-full', 'cli-per-rule'])
    .default('restore-minimized')
    .describe(
      "how rules reach the kernel: restore-minimized (MinimizeIPTablesRestore, v1.28+: only changed services' chains), restore-full (every sync rewrites everything, before v1.26), or cli-per-rule (one iptables process per chain or rule change, each reading and writing back the whole table)",
    ),
  profile: z
    .enum(KUBE_PROXY_PROFILES)
    .default('current')
    .describe(
      'the kube-proxy release whose rule layout is written: current, v1.14 (2019) or v1.6 (2017); older releases never restore partially',
    ),
  localhostNodePorts: z.boolean().default(true).describe('--iptables-localhost-nodeports: NodePorts answer on 127.0.0.1'),
  nfacct: z.boolean().default(true).describe('the host has nfacct (kube-proxy then counts INVALID drops and localhost NodePorts)'),
  randomFully: z.boolean().default(true).describe('iptables supports MASQUERADE --random-fully (kube-proxy probes it)'),
  conntrackTCPLiberal: z.boolean().default(false).describe('net.netfilter.nf_conntrack_tcp_be_liberal is set (no INVALID drop rule)'),
  flavor: z
    .enum(['legacy', 'nft'])
    .default('legacy')
    .describe(
      "the iptables the node runs: legacy (x_tables, whole-table blobs) or nft (iptables-nft over nf_tables, most distributions' default); the rules are the same, the costs are not",
    ),
});
export type IptablesOptions = z.infer<typeof IptablesOptions>;

/** The coefficients in force: the flavour's restore and walk terms, and cli-per-rule's process terms when used. */
function coefficientsFor(o: IptablesOptions): CoefficientSet {
  const flavour = iptablesCoefficients(o.flavor);
  return o.writeMethod === 'cli-per-rule' ? { ...flavour, ...IPTABLES_CLI_COEFFICIENTS } : flavour;
}

/**
 * The iptables data plane's cost model: one iptables-restore per sync (fixed, per rule written, per rule in the
 * kernel, and their squares in thousands of rules: full loads grow faster than linearly), or, with cli-per-rule,
 * one process per change, each paying its fixed cost and a cost per rule in the table it reads and writes back (plus
 * a small term in the table's square: the measured per-rule cost rises with the table); a
 * linear walk per first packet (plus a fixed part when calibrated from first-packet round trips). Coefficients per
 * flavour (cost.ts).
 */
function iptablesCost(o: IptablesOptions, calibration?: Readonly<Record<string, number>>): CostModel {
  const c = coefficientValues(coefficientsFor(o), calibration);
  const cli = o.writeMethod === 'cli-per-rule';
  return {
    coefficients: c,
    syncSeconds: (r: SyncResult) => {
      const n = r.counts;
      if (cli)
        return (
          count(n, 'cli_processes') * c.cliProcessFixed! +
          count(n, 'cli_table_rules') * c.cliPerRuleInTable! +
          count(n, 'cli_table_rules_squared') * c.cliPerRuleInTableSquared!
        );
      const w = count(n, 'rules_written') / 1000;
      const k = count(n, 'rules_in_kernel') / 1000;
      return (
        c.restoreFixed! +
        count(n, 'rules_written') * c.perRuleWritten! +
        count(n, 'rules_in_kernel') * c.perRuleInKernel! +
        w * w * c.perKiloRuleWrittenSquared! +
        k * k * c.perKiloRuleInKernelSquared!
      );
    },
    lookupSeconds: (l: LookupResult) => c.firstPacketFixed! + count(l.counts, 'rules_evaluated') * c.perRuleEvaluated!,
  };
}

export const iptablesDefinition: BackendDefinition<IptablesOptions> = {
  kind: 'iptables',
  title: 'iptables (kube-proxy iptables mode)',
  description:
    "KUBE-SERVICES holds one rule per service port, checked in order; each sync is one iptables-restore (only changed services' chains with MinimizeIPTablesRestore). First packet O(services), sync O(services).",
  optionsSchema: IptablesOptions,
  create: (node, o) => new IptablesBackend({ node, ...o }),
  metrics: IPTABLES_METRICS,
  coefficients: (o) => coefficientsFor(o),
  cost: (o, calibration) => iptablesCost(o, calibration),
  ipFamilies: ['IPv4', 'IPv6'],
  simulatedIPFamilies: ['IPv4', 'IPv6'],
  variant: (o) => `iptables-${o.flavor}`,
  kernel: iptablesKernelSupport<IptablesOptions>(),
  renderOutputs: {
    'iptables-save': {
      description: 'the nat and filter tables as iptables-save prints them',
      render: (b) => b.render()['iptables-save'] ?? '',
    },
    'iptables-restore': {
      description: 'the input kube-proxy gave iptables-restore in its last sync',
      render: (b) => (b instanceof IptablesBackend ? b.lastRestoreInput() : ''),
    },
  },
};
