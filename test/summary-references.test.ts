/**
 * The summary's published-vs-model table: each reference's value beside this run's row (the statistic it names),
 * their ratio, and the reference's reason where the ratio is outside 0.33-3; references bound to a sweep variant
 * apply to that case only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricRow } from '../src/types.js';
import { compareReferences, summaryMarkdown } from '../src/report/summary.js';
import { referencesFor } from '../src/bench/run.js';
import { Reference } from '../src/scenario/schema.js';

const row = (metric: string, statistic: MetricRow['statistic'], value: number, unit: string): MetricRow => ({
  scenario: 'x@writeMethod=restore-full',
  backend: 'iptables',
  services: 100,
  endpoints_per_service: 10,
  metric,
  statistic,
  value,
  unit,
});

const rows = [
  row('first_packet_rules_evaluated', 'mean', 101, 'rules'),
  row('first_packet_rules_evaluated', 'max', 199, 'rules'),
  row('initial_sync_time', 'value', 50, 's'),
];
const refs = [
  Reference.parse({
    source: 'A',
    label: 'walk, worst',
    backend: 'iptables',
    services: 100,
    metric: 'first_packet_rules_evaluated',
    statistic: 'max',
    value: 200,
    unit: 'rules',
  }),
  Reference.parse({
    source: 'A',
    label: 'walk, mean',
    backend: 'iptables',
    services: 100,
    metric: 'first_packet_rules_evaluated',
    value: 400,
    unit: 'rules',
    note: 'half way on average',
  }),
  Reference.parse({ source: 'B', label: 'time', backend: 'iptables', services: 100, metric: 'initial_sync_time', value: 5, unit: 's' }),
  Reference.parse({
    source: 'C',
    label: 'other case',
    services: 100,
    metric: 'initial_sync_time',
    value: 1,
    variant: 'writeMethod=restore-minimized',
  }),
];

test('published vs modelled: the named statistic, the ratio, and a reason only outside 0.33-3', () => {
  const c = compareReferences('x@writeMethod=restore-full', refs.slice(0, 3), rows);
  assert.deepEqual(
    c.map((x) => [x.statistic, x.ratio, x.reason]),
    [
      ['max', 0.995, ''],
      ['mean', 0.2525, 'half way on average'],
      ['value', 10, 'no reason stated (add a note to the reference)'],
    ],
  );
  const md = summaryMarkdown(
    [{ id: 'x@writeMethod=restore-full', name: 'x', description: '', references: refs.slice(0, 3) }],
    rows,
    [],
    [],
    { seed: 1, date: 'd', quick: false, gitCommit: null },
  );
  assert.ok(md.includes('| source | published | value | this run | ratio | why outside 0.33–3 |'));
  assert.ok(md.includes('| A | walk, mean | 400 rules | 101 rules (first_packet_rules_evaluated mean) | ×0.25 | half way on average |'));
  assert.ok(md.includes('| B | time | 5 s | 50 s (initial_sync_time value) | ×10 | no reason stated (add a note to the reference) |'));
});

test('a reference bound to a sweep variant applies to that case only', () => {
  assert.deepEqual(
    referencesFor('x@writeMethod=restore-full', refs).map((r) => r.source),
    ['A', 'A', 'B'],
  );
  assert.deepEqual(
    referencesFor('x@writeMethod=restore-minimized,requestsPerConnection=1', refs).map((r) => r.source),
    ['A', 'A', 'B', 'C'],
  );
  assert.deepEqual(
    referencesFor('x', refs).map((r) => r.source),
    ['A', 'A', 'B'],
  );
});
