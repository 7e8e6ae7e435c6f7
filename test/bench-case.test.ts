/**
 * The case runner's steps (src/bench/case/) are usable on their own: the build step alone gives a cluster whose
 * kube-proxies finished their initial sync, with the rulesets the full run reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../src/scenario/load.js';
import { buildCase } from '../src/bench/case/build.js';
import { BACKEND_KINDS, backendDefinition } from '../src/backends/registry.js';
import { readMetricsCsv } from '../src/report/csvio.js';

test('build step alone: initial sync done on every proxied node, ruleset as in the committed baseline', () => {
  const c = loadScenario('scenarios/scaling.yaml', { quick: true }).cases[0]!;
  const sc = c.scenario;
  const baseline = readMetricsCsv('results/baseline/metrics.csv');
  for (const kind of BACKEND_KINDS) {
    const w = buildCase(c, kind, {});
    assert.equal(w.measuring, false);
    assert.equal(w.proxies.length, Math.min(sc.cluster.proxyNodes ?? sc.cluster.nodes, sc.cluster.nodes));
    assert.equal(w.sched.now, w.t0, 'the build runs the simulation up to the end of the initial syncs');
    assert.equal(w.t0, Math.max(...w.proxies.map((p) => p.readyAt)));
    assert.equal(w.end, w.t0 + sc.duration);
    assert.equal(w.synthetic.length, sc.cluster.services);
    const size = w.proxies[0]!.backend.size();
    const base = baseline.filter(
      (r) => r.scenario === c.id && r.backend === kind && r.services === sc.cluster.services && r.metric.startsWith('ruleset_'),
    );
    if (base.length === 0) continue; // a backend added after the baseline
    for (const name of Object.keys(backendDefinition(kind).metrics.size)) {
      const row = base.find((r) => r.metric === `ruleset_${name}`);
      assert.ok(row !== undefined, `${kind}: baseline has ruleset_${name}`);
      assert.equal(size[name], row.value, `${kind}: ruleset_${name}`);
    }
  }
});
