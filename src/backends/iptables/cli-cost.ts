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
 * system, the kernel's table replacement included), median of 5 per size, on a quiet machine (load ~3, CPU and
 * wall time agreeing within 2%): 1 / 9 / 20 / 91 / 200 / 403 / 844 ms at 14 / 4,006 / 8,006 / 20,006 / 40,006 /
 * 80,006 / 160,006 rules. Kernel 6.18 (a Firecracker VM), iptables 1.8.9 (legacy).
 *
 * The per-rule cost rises a little with the table (log-log slope 1.07; a plain least-squares line has a negative
 * intercept, -13 ms), so the model is seconds = cliProcessFixed + cliPerRuleInTable x n + cliPerRuleInTableSquared
 * x n^2 for a process that reads and writes back n rules, anchored at the smallest table (fixed = its median) with
 * the two other terms by least squares through the rest: 1.00 ms + 4.698 us x n + 3.602 ps x n^2 (the same
 * quadratic form the restore model uses for full loads). Over the Huawei table's processes the quadratic term makes
 * the total grow a little faster than the square of the rules, as the measured inserts do. The linear-only fit of
 * the same medians was 1.00 ms + 5.19 us x n; two repeat runs on a loaded machine gave 5.1 to 5.75 us per rule.
 * `--replay S` in the script writes an S-service table one process per chain and rule and compares the model with
 * the real run.
 */
export const IPTABLES_CLI_COEFFICIENTS: CoefficientSet = {
  cliProcessFixed: {
    value: 1e-3,
    unit: 's/process',
    source: 'measured (legacy, netns, quiet machine, CPU time): iptables-legacy -A into a 14-rule nat table, median of 5: 1 ms',
  },
  cliPerRuleInTable: {
    value: 4.698e-6,
    unit: 's/rule',
    source:
      'measured (legacy, netns, quiet machine, CPU time): iptables-legacy -A at 4,006 to 160,006 rules (v1.6 shape, 2 endpoints per service), medians 9 / 20 / 91 / 200 / 403 / 844 ms; least squares with the squared term, through the 1 ms fixed part',
  },
  cliPerRuleInTableSquared: {
    value: 3.602e-12,
    unit: 's/rule^2',
    source:
      'measured (legacy, netns, quiet machine, CPU time): the same medians; the per-rule cost rises with the table (log-log slope 1.07), least squares with the linear term',
  },
};
