import type { BackendCatalogue, CountsOf } from '../../metrics/catalogue.js';

/**
 * The counts of the iptables data plane. sync(): what the `iptables-restore --noflush` input holds, exactly
 * (`-A` lines, `:CHAIN` lines, UTF-8 bytes), and the rules in the kernel's tables after it (what legacy iptables
 * copies on any table change). lookup(): rules whose matches were evaluated, all tables and chains walked.
 */
export const IPTABLES_METRICS = {
  size: {
    iptables_rules: { unit: 'rules', better: 'lower', description: 'iptables rules in the nat and filter tables', headline: 'iptables rules' },
    iptables_chains: { unit: 'chains', better: 'lower', description: 'iptables chains in the nat and filter tables' },
  },
  sync: {
    rules_written: { unit: 'rules', better: 'lower', description: 'iptables rules in the restore input', stats: ['mean', 'p50', 'max'], headline: 'rules written' },
    bytes_written: { unit: 'bytes', better: 'lower', description: 'bytes of the restore input' },
    chains_written: { unit: 'chains', better: 'lower', description: 'chains declared in the restore input' },
    rules_in_kernel: { unit: 'rules', better: 'lower', description: 'rules in the kernel tables after the restore (what legacy iptables copies on any change)' },
  },
  lookup: {
    rules_evaluated: { unit: 'rules', better: 'lower', description: 'iptables rules evaluated', stats: ['mean', 'p50', 'p99', 'max'], headline: 'rules walked' },
  },
} as const satisfies BackendCatalogue;

export type IptablesSizeCounts = CountsOf<typeof IPTABLES_METRICS.size>;
export type IptablesSyncCounts = CountsOf<typeof IPTABLES_METRICS.sync>;
export type IptablesLookupCounts = CountsOf<typeof IPTABLES_METRICS.lookup>;
