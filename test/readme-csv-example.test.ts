/**
 * The README's example of charting metrics.csv (Python's csv module and matplotlib) really works on a metrics.csv
 * this project writes. With matplotlib installed it draws the PNG; without it, a stand-in `matplotlib.pyplot` on
 * PYTHONPATH records the calls, so the part that reads the CSV (the part the columns exist for) is still run and
 * checked. Skips with a message without python3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkTmp } from './fixtures/tmp.js';
import { formatMetricsCsv, readMetricsCsv } from '../src/report/csvio.js';

const tmp = mkTmp(path.join(os.tmpdir(), 'kpbench-readme-'));

function snippet(): string {
  const readme = fs.readFileSync('README.md', 'utf8');
  const m = /<!-- csv-example:begin[^>]*-->\s*```python\n([\s\S]*?)```\s*<!-- csv-example:end -->/.exec(readme);
  assert.ok(m !== null, 'README.md has the csv example between its markers');
  return m[1]!;
}

const STUB = `import json, os
calls = []
def _rec(name):
    def f(*args, **kwargs):
        calls.append({'call': name, 'args': [list(a) if isinstance(a, (list, tuple)) else a for a in args], 'kwargs': kwargs})
        if name == 'savefig':
            with open(os.environ['PLOT_CALLS'], 'w') as out:
                json.dump(calls, out)
    return f
for _n in ['loglog', 'xlabel', 'ylabel', 'legend', 'savefig', 'plot', 'title']:
    globals()[_n] = _rec(_n)
`;

test('README: the metrics.csv charting example runs on a metrics.csv this project writes', (t) => {
  const py = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (py.status !== 0) {
    t.skip('no python3');
    return;
  }
  // a metrics.csv as kpbench writes it (kind and swept-field columns included)
  const csvFile = path.join(tmp, 'metrics.csv');
  fs.writeFileSync(csvFile, formatMetricsCsv(readMetricsCsv('test/fixtures/report/metrics.csv')));
  const script = path.join(tmp, 'chart.py');
  fs.writeFileSync(script, snippet());
  const hasMatplotlib = spawnSync('python3', ['-c', 'import matplotlib'], { encoding: 'utf8' }).status === 0;
  const env: NodeJS.ProcessEnv = { ...process.env, MPLBACKEND: 'Agg' };
  const calls = path.join(tmp, 'calls.json');
  if (!hasMatplotlib) {
    fs.mkdirSync(path.join(tmp, 'stub', 'matplotlib'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'stub', 'matplotlib', '__init__.py'), '');
    fs.writeFileSync(path.join(tmp, 'stub', 'matplotlib', 'pyplot.py'), STUB);
    env['PYTHONPATH'] = path.join(tmp, 'stub');
    env['PLOT_CALLS'] = calls;
    t.diagnostic('matplotlib is not installed: the example runs against a stand-in pyplot that records its calls');
  }
  const r = spawnSync('python3', [script, csvFile], { cwd: tmp, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  if (hasMatplotlib) {
    assert.ok(fs.statSync(path.join(tmp, 'sync_time.png')).size > 1000);
    return;
  }
  const rec = JSON.parse(fs.readFileSync(calls, 'utf8')) as Array<{ call: string; args: unknown[]; kwargs: Record<string, unknown> }>;
  const lines = rec.filter((c) => c.call === 'loglog');
  assert.deepEqual(
    lines.map((c) => [c.kwargs['label'], c.args[0], c.args[1]]),
    [
      ['iptables', [100, 1000, 10000], [0.0128, 0.128, 1.28]],
      ['ipvs', [100, 1000, 10000], [0.0128, 0.0128, 0.0128]],
      ['nftables', [100, 1000, 10000], [0.0128, 0.014362, 0.016114]],
    ],
  );
  assert.deepEqual(rec.at(-1), { call: 'savefig', args: ['sync_time.png'], kwargs: {} });
});
