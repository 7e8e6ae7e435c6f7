import type { CoefficientSet } from '../../types.js';

/**
 * Cost of writing rules one `iptables` process at a time (writeMethod cli-per-rule), as the Huawei KubeCon EU 2017
 * table measured it: with legacy iptables each `iptables -A` / `-N` / `-D` reads the whole table from the kernel
 * (getsockopt), changes it in user space (libiptc) and writes the whole table back (setsockopt
 * IPT_SO_SET_REPLACE), so one process costs a fixed part plus a part per rule in the table.
 *
 * Measured on this project's machine with scripts/measure-iptables-insert.ts (see README.md, "Write methods", for
 * every point): single `iptables-legacy -t nat -A KUBE-SERVICES ...` appends into v1.6-shaped nat tables of
 * 1 to 20,000 services (14 to 160,006 rules), in a private network namespace, CPU time of the process (user +
 * system, the kernel's table replacement included), median of 5 per size, least-squares fit
 * seconds = cliProcessFixed + cliPerRuleInTable x rules in the table.
 */
export const IPTABLES_CLI_COEFFICIENTS: CoefficientSet = {
  cliProcessFixed: {
    value: 0,
    unit: 's/process',
    source: 'PLACEHOLDER',
  },
  cliPerRuleInTable: {
    value: 0,
    unit: 's/rule',
    source: 'PLACEHOLDER',
  },
};
