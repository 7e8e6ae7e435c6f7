/**
 * Runs the bad-input corpus (test/fixtures/bad-inputs.ts) as separate processes against a checkout, each bounded
 * to 30 s of CPU and a 2 GB heap, and counts the cases that keep the contract (exit 2, one line naming the file
 * and field, no stack trace, nothing written). The test suite runs the same corpus in-process.
 *
 *   npx tsx scripts/bad-inputs.ts [ROOT] [K/N | NAME-SUBSTRING]
 */
import { corpus } from '../test/fixtures/bad-inputs.js';
import { runSpawned } from '../test/fixtures/bad-run.js';
import { PACKAGE_ROOT } from '../src/io/paths.js';

const root = process.argv[2] ?? PACKAGE_ROOT;
const filter = process.argv[3];
const shard = filter === undefined ? null : /^(\d+)\/(\d+)$/.exec(filter);
const cases = corpus().filter(
  (c, i) => filter === undefined || (shard !== null ? i % Number(shard[2]) === Number(shard[1]) - 1 : c.name.includes(filter)),
);
let ok = 0;
const kinds: Record<string, number> = {};
for (const c of cases) {
  const v = runSpawned(c, { root, timeoutMs: 30_000 });
  if (v.problem === null) {
    ok++;
    continue;
  }
  const kind = v.problem.startsWith('exit') ? `exit ${v.code}` : v.problem.split(/[:(]/)[0]!.trim();
  kinds[kind] = (kinds[kind] ?? 0) + 1;
  process.stdout.write(`FAIL ${c.name}: ${v.problem.replace(/\n/g, ' | ').slice(0, 250)}\n`);
}
process.stdout.write(`${ok}/${cases.length} kept the contract ${JSON.stringify(kinds)}\n`);
