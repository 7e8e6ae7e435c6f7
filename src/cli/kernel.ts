import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { AGREEMENT_LIMIT } from '../kernel/summary.js';
import { positiveInt } from './run.js';

/** `kpbench kernel`: each data plane in the real kernel (src/kernel/). */
export function register(program: Command): void {
  program
    .command('kernel')
    .description('Measure each data plane in the real kernel (private network namespaces; needs root and the tools)')
    .argument('[scenario...]', 'scenario files or names in scenarios/ (default: the default suite)')
    .option('--quick', 'the small sweep (each scenario with its quick overrides)', false)
    .option('--out <dir>', 'run directory to write', 'results/kernel')
    .option('--seed <n>', "seed for every random choice (default: the scenario's)", positiveInt('--seed'))
    .option(
      '--reps <n>',
      'repetitions of each full load at most (default 5 with --quick, else 3; fewer past a time budget, at least 2, or once their median is known within 10%); partial syncs 4x as many',
      positiveInt('--reps'),
    )
    .option(
      '--samples <n>',
      'new connections per probed service, in rounds 50 ms apart (default 300 in 10 rounds with --quick, else 3000 in 30)',
      positiveInt('--samples'),
    )
    .option('--calibration <file>', 'model the same syncs with this calibration (default: the committed coefficients)')
    .option(
      '--services <n...>',
      "run each scenario at these service counts instead of its sweep's (e.g. sizes a calibration did not see)",
      (v: string, prev: number[] = []) => [...prev, positiveInt('--services')(v)],
    )
    .option(
      '--backend <variant...>',
      'only these data planes (variants: iptables-legacy, iptables-nft, ...; `kpbench backends` lists the kinds)',
    )
    .action(
      async (
        scenarios: string[],
        o: {
          quick: boolean;
          out: string;
          seed?: number;
          reps?: number;
          samples?: number;
          calibration?: string;
          backend?: string[];
          services?: number[];
        },
      ) => {
        const { runKernel } = await import('../kernel/run.js');
        const { PrerequisiteError } = await import('../kernel/tools.js');
        const { readCalibration } = await import('../kernel/calibrate.js');
        const calibration = o.calibration === undefined ? undefined : readCalibration(o.calibration);
        try {
          await runKernel({
            scenarios,
            quick: o.quick,
            outDir: o.out,
            seed: o.seed,
            reps: o.reps,
            samples: o.samples,
            calibration,
            services: o.services,
            flavours: o.backend as never,
          });
        } catch (e) {
          if (e instanceof PrerequisiteError) throw new InputError('', e.message);
          throw e;
        }
      },
    );
}

/** `kpbench calibrate`: fit the cost model from a kernel run. */
export function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description(
      "Fit the cost model's coefficients (least squares) from a `kpbench kernel` run; write them with the machine, kernel and tool versions",
    )
    .option('--from <dir>', 'kernel run directory', 'results/kernel')
    .option('--out <file>', 'calibration file to write', 'calibration.json')
    .option(
      '--check [dir]',
      `then compare the calibrated model with a kernel run's rows (default: --from's) and exit 1 beyond ${AGREEMENT_LIMIT * 100}%`,
    )
    .action(async (o: { from: string; out: string; check?: string | boolean }) => {
      const { readKernelRows } = await import('../kernel/run.js');
      const { calibrate, writeCalibration, agreementWithCalibration } = await import('../kernel/calibrate.js');
      const { agreementVerdicts } = await import('../kernel/summary.js');
      const rows = readKernelRows(o.from);
      const cal = calibrate(rows, o.from);
      writeCalibration(o.out, cal);
      for (const [v, fit] of Object.entries(cal.fits)) {
        const co = cal.coefficients[v]!;
        const part = (f: { fitted: string[]; maxRelError: number } | null, what: string): string =>
          f === null
            ? `${what}: not fitted`
            : `${what}: ${f.fitted.map((k) => `${k}=${co[k]!.toPrecision(3)}`).join(' ')} (largest error ${(f.maxRelError * 100).toFixed(0)}%)`;
        process.stdout.write(`${v}: ${part(fit.sync, 'sync')}; ${part(fit.firstPacket, 'first packet')}\n`);
      }
      process.stdout.write(`Calibration written to ${o.out}\n`);
      if (o.check !== undefined && o.check !== false) {
        const dir = typeof o.check === 'string' ? o.check : o.from;
        const points = agreementWithCalibration(dir === o.from ? rows : readKernelRows(dir), cal);
        for (const p of points)
          process.stdout.write(
            `  ${p.backend} ${p.quantity} at ${p.services} services: kernel ${p.kernel.toPrecision(3)} s, model ${p.model.toPrecision(3)} s (${((p.ratio - 1) * 100).toFixed(0)}%)\n`,
          );
        const verdicts = agreementVerdicts(points);
        for (const v of verdicts)
          process.stdout.write(
            `${v.backend} ${v.quantity}: worst ${(v.worst * 100).toFixed(0)}% over ${v.n} sizes: ${v.ok ? 'agrees' : 'does not agree'} within ${AGREEMENT_LIMIT * 100}%\n`,
          );
        if (verdicts.some((v) => !v.ok)) process.exitCode = 1;
      }
    });
}
