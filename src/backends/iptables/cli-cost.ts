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
 * system, the kernel's table replacement included), median of 5 per size, fit
 * seconds = cliProcessFixed + cliPerRuleInTable x rules in the table, anchored at the smallest table (the plain
 * least-squares intercept came out at -13 ms: the cost per rule rises slightly with the table, log-log slope 1.08).
 * The machine was shared (load average ~20 on 2 cores): wall times were 4-10x the CPU times, and the CPU times
 * themselves are likely inflated by cache contention (the project's quiet-machine wall figure in src/netfilter/cost.ts is
 * ~3.7 us per rule); a repeat 30 minutes later gave 1 ms + 5.75 us per rule. The values in force come from a third
 * run on the quiet machine (load ~3, CPU and wall time agreeing within 2%): medians 1 / 9 / 20 / 91 / 200 / 403 /
 * 844 ms at 14 / 4,006 / 8,006 / 20,006 / 40,006 / 80,006 / 160,006 rules, anchored fit 1.00 ms + 5.19 us per rule,
 * log-log slope 1.07. Kernel 6.18 (a Firecracker VM), iptables 1.8.9 (legacy).
 */
export const IPTABLES_CLI_COEFFICIENTS: CoefficientSet = {
  cliProcessFixed: {
    value: 1e-3,
    unit: 's/process',
    source: 'measured (legacy, netns, quiet machine, CPU time): iptables-legacy -A into a 14-rule nat table, median of 5: 1 ms',
  },
  cliPerRuleInTable: {
    value: 5.19e-6,
    unit: 's/rule',
    source:
      'measured (legacy, netns, quiet machine, CPU time): iptables-legacy -A at 4,006 to 160,006 rules (v1.6 shape, 2 endpoints per service), medians 9 / 20 / 91 / 200 / 403 / 844 ms; least squares through the 1 ms fixed part',
  },
};
