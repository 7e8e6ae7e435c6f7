import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'yaml';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  strategy?: { matrix?: { shard?: number[] } };
  steps: Step[];
}

const wf = parse(fs.readFileSync('.github/workflows/bench.yml', 'utf8')) as { name: string; on: unknown; jobs: Record<string, Job> };

test('bench.yml is valid YAML with the CI job: checkout, node 20, npm ci, run --quick --ci, upload always', () => {
  assert.equal(wf.name, 'bench');
  const steps = wf.jobs.bench!.steps;
  const i = (pred: (s: Step) => boolean): number => steps.findIndex(pred);
  const checkout = i((s) => s.uses?.startsWith('actions/checkout@') === true);
  const node = i((s) => s.uses?.startsWith('actions/setup-node@') === true);
  const ci = i((s) => s.run === 'npm ci');
  const run = i((s) => s.run === 'npx kpbench run --quick --ci --out results/ci --compare-report results/ci-compare');
  const upload = i((s) => s.uses?.startsWith('actions/upload-artifact@') === true);
  // the comparison report is uploaded too, whatever the outcome
  const report = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') === true && s.with?.path === 'results/ci-compare');
  assert.equal(report?.if, 'always()');
  assert.ok(checkout >= 0 && checkout < node && node < ci && ci < run && run < upload, JSON.stringify([checkout, node, ci, run, upload]));
  assert.equal(steps[node]!.with!['node-version'], 20);
  assert.equal(steps[upload]!.if, 'always()');
  assert.equal(steps[upload]!.with!.path, 'results/ci');
});

test('bench.yml: a four-shard matrix and a merge job that needs it', () => {
  const shard = wf.jobs.shard!;
  assert.deepEqual(shard.strategy?.matrix?.shard, [1, 2, 3, 4]);
  assert.ok(
    shard.steps.some((s) => s.run === 'npx kpbench run --quick --shard ${{ matrix.shard }}/4 --out results/shard-${{ matrix.shard }}'),
  );
  const merge = wf.jobs.merge!;
  assert.equal(merge.needs, 'shard');
  const mergeRun = merge.steps.find((s) => s.run?.startsWith('npx kpbench merge ') === true);
  assert.ok(mergeRun?.run?.endsWith(' --out results/merged'));
  assert.ok(merge.steps.some((s) => s.run === 'npx kpbench compare results/baseline results/merged --report results/merged-compare'));
  assert.ok(merge.steps.some((s) => s.with?.path === 'results/merged-compare' && s.if === 'always()'));
});
