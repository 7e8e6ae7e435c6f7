import { test } from 'node:test';
import { mkTmp } from './fixtures/tmp.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kpbench } from './fixtures/compare/cli.js';
import { compareRuns } from '../src/report/compare.js';

const FIX = 'test/fixtures/compare';
const BASE = `${FIX}/base`;
const WORSE = `${FIX}/counted-worse`;

test('a counted metric made 5% worse: exit 1, the metric named, regressions listed first', async () => {
  const r = await kpbench('compare', BASE, WORSE);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  const header = lines.findIndex((l) => l.startsWith('verdict'));
  assert.ok(header > 0);
  // first table row after the header and its rule
  const first = lines[header + 2]!;
  assert.match(first, /^REGRESSED\s+scaling\s+iptables\s+100\s+10\s+sync_rules_written\s+mean\s+1208 rules\s+1268\.4 rules\s+\+5\.00%$/);
  assert.ok(r.stdout.includes('1 regressed, 0 missing, 0 new, 0 changed, 0 improved, 7 unchanged'));
  assert.ok(r.stdout.includes('FAIL: 1 row regressed'));
});

test('the same run against itself: exit 0, no differences', async () => {
  const r = await kpbench('compare', BASE, BASE);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes('no differences'));
  assert.ok(r.stdout.includes('0 regressed, 0 missing, 0 new, 0 changed, 0 improved, 8 unchanged'));
  assert.ok(r.stdout.includes('OK: no regressions'));
});

test('a metrics.csv file works as well as its run directory', async () => {
  const r = await kpbench('compare', `${BASE}/metrics.csv`, `${WORSE}/metrics.csv`);
  assert.equal(r.code, 1);
});

test('tolerances: global counted tolerance and per-metric tolerance', async () => {
  // exactly 5% is within a 5% tolerance (the comparison allows for rounding of the ratio)
  assert.equal((await kpbench('compare', BASE, WORSE, '--counted-tolerance', '5')).code, 0);
  assert.equal((await kpbench('compare', BASE, WORSE, '--counted-tolerance', '4.9')).code, 1);
  assert.equal((await kpbench('compare', BASE, WORSE, '--tolerance', 'sync_rules_written=5%')).code, 0);
  // a tolerance for another metric does not help, and is warned about when no row has that metric
  // a tolerance naming a metric no catalogue defines and no row has is bad input (exit 2)
  const unknown = await kpbench('compare', BASE, WORSE, '--tolerance', 'no_such_metric=1');
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'kpbench: --tolerance no_such_metric: unknown metric: not in the catalogue and in no row of either run\n');
  const other = await kpbench('compare', BASE, WORSE, '--tolerance', 'sync_time=50', '--tolerance', 'ruleset_ipset_entries=1');
  assert.equal(other.code, 1);
  assert.ok(other.stdout.includes('warning: --tolerance ruleset_ipset_entries: no row has metric "ruleset_ipset_entries"'));
});

test('the improvement in the other direction is not a regression', async () => {
  const r = await kpbench('compare', WORSE, BASE);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^improved\s+scaling\s+iptables\s+100\s+10\s+sync_rules_written\s+mean\s+1268\.4 rules\s+1208 rules\s+-4\.76%$/m);
});

function tmpDir(): string {
  return mkTmp(path.join(os.tmpdir(), 'kpbench-compare-'));
}

function writeCsv(dir: string, lines: string[]): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'metrics.csv'),
    `scenario,backend,services,endpoints_per_service,metric,statistic,value,unit\n${lines.join('\n')}\n`,
  );
  fs.copyFileSync(`${BASE}/meta.json`, path.join(dir, 'meta.json'));
  return dir;
}

test('missing and new rows, a metric with no direction, a samples count, a metric first measured at 0', async () => {
  const t = tmpDir();
  const a = writeCsv(path.join(t, 'a'), [
    's,iptables,10,1,sync_rules_written,mean,100,rules',
    's,iptables,10,1,sync_rules_written,samples,4,syncs',
    's,iptables,10,1,ruleset_ipvs_real_servers,value,10,servers',
    's,iptables,10,1,failed_requests,total,0,requests',
    's,iptables,10,1,syncs,total,7,syncs',
  ]);
  const b = writeCsv(path.join(t, 'b'), [
    's,iptables,10,1,sync_rules_written,mean,100,rules',
    's,iptables,10,1,sync_rules_written,samples,5,syncs',
    's,iptables,10,1,ruleset_ipvs_real_servers,value,12,servers',
    's,iptables,10,1,failed_requests,total,3,requests',
    's,iptables,20,1,syncs,total,7,syncs',
  ]);
  const res = compareRuns(a, b);
  const by = (metric: string, stat: string, services = 10) =>
    res.rows.find((r) => r.metric === metric && r.statistic === stat && r.services === services)!;
  assert.equal(by('syncs', 'total').verdict, 'missing');
  assert.equal(by('syncs', 'total', 20).verdict, 'new');
  assert.equal(by('ruleset_ipvs_real_servers', 'value').verdict, 'changed');
  assert.equal(by('ruleset_ipvs_real_servers', 'value').note, 'metric has no better direction');
  assert.equal(by('sync_rules_written', 'samples').verdict, 'changed');
  assert.equal(by('sync_rules_written', 'mean').verdict, 'unchanged');
  const fr = by('failed_requests', 'total');
  assert.equal(fr.verdict, 'regressed');
  assert.equal(fr.ratio, null);
  assert.equal(fr.change, null);
  assert.deepEqual(res.counts, { regressed: 1, missing: 1, new: 1, changed: 2, improved: 0, unchanged: 1 });
  assert.deepEqual(
    res.rows.map((r) => r.verdict),
    ['regressed', 'missing', 'new', 'changed', 'changed', 'unchanged'],
  );
  assert.equal(res.failures, 1);

  // missing rows fail only with --fail-on-missing
  const c = writeCsv(path.join(t, 'c'), ['s,iptables,10,1,sync_rules_written,mean,100,rules']);
  assert.equal((await kpbench('compare', a, c)).code, 0);
  const strict = await kpbench('compare', a, c, '--fail-on-missing');
  assert.equal(strict.code, 1);
  assert.ok(strict.stdout.includes('FAIL: 2 rows regressed or missing'));
});

test('csv and json formats carry every row', async () => {
  const csv = await kpbench('compare', BASE, WORSE, '--format', 'csv');
  assert.equal(csv.code, 1);
  const lines = csv.stdout.trim().split('\n');
  assert.equal(
    lines[0],
    'scenario,backend,services,endpoints_per_service,metric,statistic,unit,kind,baseline,current,ratio,change_pct,verdict,gated,p_value,note',
  );
  assert.equal(lines.length, 9);
  assert.equal(
    lines[1],
    `scaling,iptables,100,10,sync_rules_written,mean,rules,counted,1208,1268.4,${1268.4 / 1208},${((1268.4 - 1208) / 1208) * 100},regressed,true,,`,
  );
  const json = await kpbench('compare', BASE, WORSE, '--format', 'json');
  const parsed = JSON.parse(json.stdout) as { failed: boolean; rows: unknown[]; counts: Record<string, number> };
  assert.equal(parsed.failed, true);
  assert.equal(parsed.rows.length, 8);
  assert.equal(parsed.counts.regressed, 1);
});

test('bad input: exit 2 with one line naming the file (and line and field)', async () => {
  const header = await kpbench('compare', `${FIX}/bad-header.csv`, BASE);
  assert.equal(header.code, 2);
  assert.equal(header.stdout, '');
  assert.equal(
    header.stderr,
    `kpbench: ${FIX}/bad-header.csv: line 1: header must start with "scenario,backend,services,endpoints_per_service,metric,statistic,value,unit", got "scenario,backend,services,endpoints,metric,statistic,value,unit"\n`,
  );
  const num = await kpbench('compare', BASE, `${FIX}/bad-number.csv`);
  assert.equal(num.code, 2);
  assert.equal(num.stderr, `kpbench: ${FIX}/bad-number.csv: line 3, field value: unreadable number "12.5ms"\n`);
  const missing = await kpbench('compare', BASE, `${FIX}/no-such-dir`);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, `kpbench: ${FIX}/no-such-dir: no such run directory or metrics.csv file\n`);
  const emptyDir = tmpDir();
  const noCsv = await kpbench('compare', BASE, emptyDir);
  assert.equal(noCsv.code, 2);
  assert.equal(noCsv.stderr, `kpbench: ${path.join(emptyDir, 'metrics.csv')}: no such file\n`);
  for (const args of [
    ['--threshold', 'ten'],
    ['--counted-tolerance', '-1'],
    ['--tolerance', 'sync_time'],
    ['--alpha', '2'],
    ['--format', 'xml'],
  ]) {
    const r = await kpbench('compare', BASE, BASE, ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  }
});
