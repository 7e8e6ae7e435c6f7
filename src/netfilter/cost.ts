import type { CoefficientSet } from '../types.js';

/**
 * Coefficients of iptables-restore and of the first-packet walk through netfilter rules, shared by every data plane
 * that programs iptables (kube-proxy's iptables mode, and the fixed rules of IPVS mode). Measured on this project's
 * machines in a private network namespace with legacy iptables (ruleset shaped like kube-proxy's, S services x 3
 * endpoints, 10 S rules):
 * - a single-rule insert took 0.035 s at 10,000 rules and 0.36 s at 100,000: the kernel copies and replaces the
 *   whole table blob on any change, ~3.5 us per rule already in the table;
 * - a whole-table restore took about twice the single insert (0.07 s at 10,000 rules, 0.72 s at 100,000): another
 *   ~3.5 us per rule in the restore input;
 * - first packets to the first and the last of 1,000 / 5,000 / 10,000 / 20,000 services differed by 4 / 16 / 31 /
 *   58 us: ~3 ns per rule evaluated;
 * - 1 ms fixed per iptables-restore (process start, reading the current tables) is assumed.
 * `kpbench calibrate` measures these on the user's machine.
 */
export const IPTABLES_RESTORE_COEFFICIENTS: CoefficientSet = {
  restoreFixed: { value: 1e-3, unit: 's/restore', source: 'assumed: process start and reading the current tables' },
  perRuleWritten: {
    value: 3.5e-6,
    unit: 's/rule',
    source: 'measured (legacy, netns): whole-table restore minus single insert, 10k-100k rules',
  },
  perRuleInKernel: {
    value: 3.5e-6,
    unit: 's/rule',
    source: 'measured (legacy, netns): single-rule insert, 0.035 s at 10k rules, 0.36 s at 100k',
  },
};

export const IPTABLES_WALK_COEFFICIENTS: CoefficientSet = {
  perRuleEvaluated: {
    value: 3e-9,
    unit: 's/rule',
    source: 'measured (legacy, netns): first-packet RTT, last minus first service, 1k-20k services',
  },
};
