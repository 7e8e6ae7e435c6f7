import { z } from 'zod';
import type { BackendDefinition, CostModel, LookupResult, SyncResult } from '../../types.js';
import { coefficientValues, count } from '../../proxy/cost.js';
import { IPTABLES_RESTORE_COEFFICIENTS, IPTABLES_WALK_COEFFICIENTS } from '../../netfilter/cost.js';
import { IptablesBackend } from './backend.js';
import { IPTABLES_METRICS } from './metrics.js';

/** `proxy.iptables.*` in a scenario: kube-proxy's iptables-mode flags and the host facts it probes. */
export const IptablesOptions = z.strictObject({
  restoreMode: z
    .enum(['minimized', 'full'])
    .default('minimized')
    .describe('MinimizeIPTablesRestore (v1.28+: only changed services\' chains) or a full restore every sync (before v1.26)'),
  localhostNodePorts: z.boolean().default(true).describe('--iptables-localhost-nodeports: NodePorts answer on 127.0.0.1'),
  nfacct: z.boolean().default(true).describe('the host has nfacct (kube-proxy then counts INVALID drops and localhost NodePorts)'),
  randomFully: z.boolean().default(true).describe('iptables supports MASQUERADE --random-fully (kube-proxy probes it)'),
  conntrackTCPLiberal: z.boolean().default(false).describe('net.netfilter.nf_conntrack_tcp_be_liberal is set (no INVALID drop rule)'),
});
export type IptablesOptions = z.infer<typeof IptablesOptions>;

/** The iptables data plane's cost model: one iptables-restore per sync, a linear walk per first packet. */
function iptablesCost(calibration?: Readonly<Record<string, number>>): CostModel {
  const c = coefficientValues({ ...IPTABLES_RESTORE_COEFFICIENTS, ...IPTABLES_WALK_COEFFICIENTS }, calibration);
  return {
    coefficients: c,
    syncSeconds: (r: SyncResult) => {
      const n = r.counts;
      return c.restoreFixed! + count(n, 'rules_written') * c.perRuleWritten! + count(n, 'rules_in_kernel') * c.perRuleInKernel!;
    },
    lookupSeconds: (l: LookupResult) => count(l.counts, 'rules_evaluated') * c.perRuleEvaluated!,
  };
}

export const iptablesDefinition: BackendDefinition<IptablesOptions> = {
  kind: 'iptables',
  title: 'iptables (kube-proxy iptables mode)',
  description:
    'KUBE-SERVICES holds one rule per service port, checked in order; each sync is one iptables-restore (only changed services\' chains with MinimizeIPTablesRestore). First packet O(services), sync O(services).',
  optionsSchema: IptablesOptions,
  create: (node, o) => new IptablesBackend({ node, ...o }),
  metrics: IPTABLES_METRICS,
  coefficients: () => ({ ...IPTABLES_RESTORE_COEFFICIENTS, ...IPTABLES_WALK_COEFFICIENTS }),
  cost: (_o, calibration) => iptablesCost(calibration),
  renderOutputs: {
    'iptables-save': { description: 'the nat and filter tables as iptables-save prints them', render: (b) => b.render()['iptables-save'] ?? '' },
    'iptables-restore': {
      description: 'the input kube-proxy gave iptables-restore in its last sync',
      render: (b) => (b instanceof IptablesBackend ? b.lastRestoreInput() : ''),
    },
  },
};
