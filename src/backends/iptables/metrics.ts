import type { BackendCatalogue, CountsOf } from '../../metrics/catalogue.js';

/**
 * The counts of the iptables data plane. sync(): what the `iptables-restore --noflush` input holds, exactly
 * (`-A` lines, `:CHAIN` lines, UTF-8 bytes; with cli-per-rule, what a full restore would hold), the rules in the
 * kernel's tables after it (what legacy iptables copies on any table change), and with writeMethod cli-per-rule
 * the `iptables` processes run and the table rules they each read and wrote back. lookup(): rules whose matches were evaluated, all tables and chains walked.
 */
export const IPTABLES_METRICS = {
  size: {
    iptables_rules: {
      unit: 'rules',
      better: 'lower',
      description: 'iptables rules in the nat and filter tables',
      headline: 'iptables rules',
    },
    iptables_chains: { unit: 'chains', better: 'lower', description: 'iptables chains in the nat and filter tables' },
  },
  sync: {
    rules_written: {
      unit: 'rules',
      better: 'lower',
      description: 'iptables rules in the restore input',
      stats: ['mean', 'p50', 'max'],
      headline: 'rules written',
    },
    bytes_written: { unit: 'bytes', better: 'lower', description: 'bytes of the restore input' },
    chains_written: { unit: 'chains', better: 'lower', description: 'chains declared in the restore input' },
    rules_in_kernel: {
      unit: 'rules',
      better: 'lower',
      description: 'rules in the kernel tables after the restore (what legacy iptables copies on any change)',
    },
    cli_processes: {
      unit: 'processes',
      better: 'lower',
      description:
        'iptables processes run with writeMethod cli-per-rule (one per chain created or deleted and per rule added or deleted; 0 with the restore methods)',
      stats: ['mean', 'max'],
    },
    cli_table_rules: {
      unit: 'rules',
      better: 'lower',
      description:
        'rules in the table summed over the cli-per-rule processes (each reads and writes back the whole table: grows with the square of the rules; 0 with the restore methods)',
      stats: ['mean', 'max'],
    },
    cli_table_rules_squared: {
      unit: 'rules^2',
      better: 'lower',
      description:
        "the square of the rules in the table summed over the cli-per-rule processes (a process's cost rises a little faster than its table: the cost model's quadratic term; 0 with the restore methods)",
      stats: ['mean', 'max'],
    },
  },
  lookup: {
    rules_evaluated: {
      unit: 'rules',
      better: 'lower',
      description: 'iptables rules evaluated',
      stats: ['mean', 'p50', 'p99', 'max'],
      headline: 'rules walked',
    },
  },
} as const satisfies BackendCatalogue;

export type IptablesSizeCounts = CountsOf<typeof IPTABLES_METRICS.size>;
/** The cli_* counts are only present with writeMethod cli-per-rule (the restore methods' counts stay as they were). */
export type IptablesSyncCounts = Omit<
  CountsOf<typeof IPTABLES_METRICS.sync>,
  'cli_processes' | 'cli_table_rules' | 'cli_table_rules_squared'
> & {
  cli_processes?: number;
  cli_table_rules?: number;
  cli_table_rules_squared?: number;
};
export type IptablesLookupCounts = CountsOf<typeof IPTABLES_METRICS.lookup>;
