/**
 * The backend registry is the one place that names data planes: the scenario schema, the CLI, the metric
 * catalogue and the README's table are derived from it, and no other file outside src/backends/ names a kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BACKEND_DEFINITIONS, BACKEND_KINDS, createBackend } from '../src/backends/registry.js';
import { allMetrics, catalogueMetrics, metricDef, requireMetricDef } from '../src/metrics/catalogue.js';
import { backendsTable, README_BACKENDS_BEGIN, README_BACKENDS_END } from '../src/report/backends.js';
import { ScenarioFile } from '../src/scenario/schema.js';
import { compareRows } from '../src/report/compare.js';
import { readMetricsCsv } from '../src/report/csvio.js';

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('outside src/backends/ no source file names a backend kind as a string', () => {
  const offenders: string[] = [];
  for (const f of sourceFiles('src')) {
    if (f.startsWith(path.join('src', 'backends') + path.sep)) continue;
    const text = fs.readFileSync(f, 'utf8');
    for (const kind of BACKEND_KINDS) {
      const re = new RegExp(`(['"\`])${kind}\\1`);
      if (re.test(text)) offenders.push(`${f}: '${kind}'`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('src/ outside src/cli/ imports nothing from src/cli/', () => {
  const offenders: string[] = [];
  for (const f of sourceFiles('src')) {
    if (f.startsWith(path.join('src', 'cli') + path.sep)) continue;
    const text = fs.readFileSync(f, 'utf8');
    if (/from\s+['"][^'"]*\/cli\/[^'"]*['"]/.test(text) || /import\(['"][^'"]*\/cli\//.test(text)) offenders.push(f);
  }
  assert.deepEqual(offenders, []);
});

test('every registered backend: options parse from {}, a fresh backend syncs an empty snapshot with catalogued counts', () => {
  assert.ok(BACKEND_KINDS.length >= 2);
  assert.equal(new Set(BACKEND_KINDS).size, BACKEND_KINDS.length, 'kinds are unique');
  for (const d of BACKEND_DEFINITIONS) {
    const o = d.optionsSchema.parse({});
    const b = createBackend(
      d.kind,
      {
        nodeName: 'n',
        nodeIPs: ['192.168.0.2'],
        clusterCIDR: '',
        podCIDR: '',
        localDetector: 'None',
        masqueradeAll: false,
        masqueradeBit: 14,
        nodePortAddresses: [],
      },
      o,
    );
    assert.equal(b.kind, d.kind);
    const r = b.sync({ snapshot: { services: new Map(), endpoints: new Map() }, changed: new Set(), now: 0 });
    for (const k of Object.keys(r.counts)) assert.ok(k in d.metrics.sync, `${d.kind}: sync count ${k} is catalogued`);
    for (const k of Object.keys(b.size())) assert.ok(k in d.metrics.size, `${d.kind}: size count ${k} is catalogued`);
    const l = b.lookup(
      { srcIP: '10.0.0.1', srcPort: 1000, dstIP: '10.96.0.1', dstPort: 80, protocol: 'TCP', local: false },
      { next: () => 0.5 },
      1,
    );
    for (const k of Object.keys(l.counts)) assert.ok(k in d.metrics.lookup, `${d.kind}: lookup count ${k} is catalogued`);
    // the cost model turns the counts into a non-negative, finite time
    const cost = d.cost(o);
    assert.ok(Number.isFinite(cost.syncSeconds(r)) && cost.syncSeconds(r) >= 0);
    assert.ok(Number.isFinite(cost.lookupSeconds(l)) && cost.lookupSeconds(l) >= 0);
    // every coefficient says where it comes from
    for (const [name, c] of Object.entries(d.coefficients(o))) assert.ok(c.source.length > 0 && c.unit.length > 0, `${d.kind}.${name}`);
    assert.ok(Object.keys(d.renderOutputs).length > 0);
  }
});

test('the catalogue: backend counts become prefixed rows, names shared between backends agree, unknown names throw', () => {
  const m = allMetrics();
  for (const d of BACKEND_DEFINITIONS) for (const name of Object.keys(catalogueMetrics(d.metrics))) assert.ok(m.has(name), name);
  assert.deepEqual(requireMetricDef('sync_rules_written'), {
    kind: 'counted',
    unit: 'rules',
    better: 'lower',
    description: m.get('sync_rules_written')!.description,
  });
  assert.equal(requireMetricDef('first_packet_rules_evaluated').unit, 'rules');
  assert.equal(requireMetricDef('ruleset_iptables_rules').kind, 'counted');
  assert.throws(() => requireMetricDef('sync_rulez_written'), /not in any catalogue/);
  // read side: unknown names are classified by name and never gated
  assert.deepEqual(
    [metricDef('wall_x').kind, metricDef('kernel_x').kind, metricDef('x').kind, metricDef('x').better],
    ['measured', 'kernel', 'counted', 'none'],
  );
  // the churn rows are inputs of the workload
  for (const n of [
    'churn_rolling_updates',
    'churn_scale_events',
    'churn_crashes',
    'churn_flaps',
    'churn_drains',
    'churn_services_created',
    'churn_services_deleted',
  ]) {
    assert.deepEqual([requireMetricDef(n).kind, requireMetricDef(n).better], ['input', 'none']);
  }
});

test('every row of the committed baseline is catalogued, with a direction', () => {
  for (const r of readMetricsCsv('results/baseline/metrics.csv')) {
    if (r.metric.startsWith('wall_')) continue;
    const d = metricDef(r.metric);
    assert.ok(['lower', 'higher', 'none'].includes(d.better), r.metric);
  }
});

test('a baseline copy with churn_crashes raised by 5 compares as changed, not as a regression', () => {
  const base = readMetricsCsv('results/baseline/metrics.csv');
  const row = base.find((r) => r.metric === 'churn_crashes');
  const raised = base.map((r) => (r.metric === 'churn_crashes' && r === row ? { ...r, value: r.value + 5 } : r));
  const res = compareRows(base, raised, [], []);
  assert.equal(res.failures, 0);
  const c = res.rows.find((r) => r.metric === 'churn_crashes' && r.verdict !== 'unchanged');
  assert.ok(row !== undefined, 'the baseline has churn_crashes rows');
  assert.equal(c?.verdict, 'changed');
});

test('the scenario schema: backends, references and expectations take exactly the registered kinds; options nest under proxy.<kind>', () => {
  const s = ScenarioFile.parse({ name: 'x' });
  assert.deepEqual(s.backends, [...BACKEND_KINDS]);
  for (const k of BACKEND_KINDS) assert.ok((s.proxy as Record<string, unknown>)[k] !== undefined, k);
  assert.equal(ScenarioFile.safeParse({ name: 'x', backends: ['nope'] }).success, false);
  assert.equal(ScenarioFile.safeParse({ name: 'x', proxy: { writeMethod: 'restore-full' } }).success, false, 'backend options are nested');
  const first = BACKEND_DEFINITIONS[0]!;
  assert.equal(ScenarioFile.safeParse({ name: 'x', proxy: { [first.kind]: { noSuchOption: 1 } } }).success, false);
});

test("the README's table of backends is the registry's", () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  const a = readme.indexOf(README_BACKENDS_BEGIN);
  const b = readme.indexOf(README_BACKENDS_END);
  assert.ok(a >= 0 && b > a, 'README has the markers');
  assert.equal(readme.slice(a + README_BACKENDS_BEGIN.length + 1, b), backendsTable());
});
