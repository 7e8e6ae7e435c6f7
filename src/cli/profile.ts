import { type Command, Option } from 'commander';
import type { BackendKind } from '../types.js';
import { BACKEND_KINDS } from '../backends/registry.js';
import { InputError } from '../errors.js';

/**
 * `kpbench profile SCENARIO`: runs one case of a scenario (the first of its sweep, or the one `--case N` picks)
 * on each backend asked for, and prints the harness's own cost per phase (wall and CPU time, heap at the end of
 * each phase, peak RSS). Writes no run directory. With `--json`, one JSON object per case on stdout.
 */
export function register(program: Command): void {
  program
    .command('profile')
    .description("Run one case and print the harness's own time and memory per phase (build, initial sync, measured, ...)")
    .argument('<scenario>', 'scenario file or name in scenarios/')
    .option('--quick', "the scenario's quick overrides", false)
    .option('--case <n>', 'which case of the sweep (0-based; default 0)', '0')
    .option('--wall', 'also run the measured (tinybench) wall-clock metrics', false)
    .option('--json', 'print JSON instead of a table', false)
    .addOption(new Option('--backend <name...>', "only these backends (default: the scenario's)").choices([...BACKEND_KINDS]))
    .action(async (scenario: string, o: { quick: boolean; case: string; wall: boolean; json: boolean; backend?: BackendKind[] }) => {
      const { resolveScenarios } = await import('../bench/run.js');
      const { loadScenario } = await import('../scenario/load.js');
      const { profileCase, formatProfile } = await import('../bench/profile.js');
      const [file] = resolveScenarios([scenario], o.quick);
      const loaded = loadScenario(file!, { quick: o.quick });
      if (!/^\d+$/.test(o.case) || Number(o.case) >= loaded.cases.length) {
        throw new InputError('--case', `must be a case index below ${loaded.cases.length}, got '${o.case}'`);
      }
      const c = loaded.cases[Number(o.case)]!;
      const kinds = c.scenario.backends.filter((b) => o.backend === undefined || o.backend.includes(b));
      for (const kind of kinds) {
        const p = await profileCase(c, kind, { bench: o.wall });
        process.stdout.write(o.json ? `${JSON.stringify(p)}\n` : `${formatProfile(p)}\n\n`);
      }
    });
}
