import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/sim/scheduler.js';
import { SyncRunner } from '../src/proxy/runner.js';
import { ChangeTracker } from '../src/proxy/tracker.js';
import { buildSnapshot, servicePortKey } from '../src/proxy/snapshot.js';
import { serviceWithDefaults } from '../src/cluster/defaults.js';
import { backendDefinition } from '../src/backends/registry.js';
import type { EndpointSlice, SyncResult } from '../src/types.js';

function runnerLog(
  cfg: { minSyncPeriod: number; syncPeriod: number; burst: number },
  duration: number,
  requests: number[],
  until: number,
): number[] {
  const s = new Scheduler();
  const runs: number[] = [];
  const r = new SyncRunner(s, cfg, () => {
    runs.push(Number(s.now.toFixed(6)));
    return duration;
  });
  for (const t of requests) s.at(t, () => r.request());
  s.runUntil(until);
  return runs;
}

test('runner: burst of 2, then one run per minSyncPeriod; requests coalesce', () => {
  assert.deepEqual(runnerLog({ minSyncPeriod: 1, syncPeriod: 30, burst: 2 }, 0, [0, 0.1, 0.2, 0.3], 5), [0, 0.1, 1]);
});

test('runner: minSyncPeriod 10 coalesces a stream of changes into few runs', () => {
  const reqs = Array.from({ length: 100 }, (_, i) => i * 0.3); // a change every 0.3 s for 30 s
  const runs = runnerLog({ minSyncPeriod: 10, syncPeriod: 30, burst: 2 }, 0, reqs, 30);
  // the bucket refills continuously: after the burst (0, 0.3) the next token is whole at 10, then every 10 s
  assert.deepEqual(runs, [0, 0.3, 10, 20, 30]);
});

test('runner: runs are serialized; a request during a run waits for its end', () => {
  assert.deepEqual(runnerLog({ minSyncPeriod: 0, syncPeriod: 30, burst: 2 }, 0.5, [0, 0.1, 0.2], 2), [0, 0.5]);
});

test('runner: syncPeriod forces a run when nothing is requested', () => {
  assert.deepEqual(runnerLog({ minSyncPeriod: 1, syncPeriod: 30, burst: 2 }, 0.25, [0], 100), [0, 30.25, 60.5, 90.75]);
});

const svc = serviceWithDefaults({
  namespace: 'ns1',
  name: 'svc1',
  clusterIP: '10.96.0.11',
  selector: { app: 'a' },
  ports: [
    { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 },
    { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 0 },
  ],
});

function slice(name: string, ips: string[], ready = true): EndpointSlice {
  return {
    namespace: 'ns1',
    name,
    serviceName: 'svc1',
    addressType: 'IPv4',
    ports: [
      { name: 'http', protocol: 'TCP', port: 8080 },
      { name: 'dns', protocol: 'UDP', port: 5353 },
    ],
    endpoints: ips.map((ip, i) => ({
      addresses: [ip],
      conditions: { ready, serving: ready, terminating: false },
      nodeName: i === 0 ? 'node-a' : 'node-b',
      zone: '',
      hostname: '',
      podName: '',
    })),
  };
}

test('snapshot: one service port per port, endpoints merged across slices, de-duplicated and sorted by IP:port', () => {
  const snap = buildSnapshot([svc], [slice('s1', ['10.0.0.9', '10.0.0.10']), slice('s2', ['10.0.0.10', '10.0.0.2'])], 'node-a');
  assert.deepEqual([...snap.services.keys()], ['ns1/svc1:http', 'ns1/svc1:dns']);
  const eps = snap.endpoints.get('ns1/svc1:http')!;
  assert.deepEqual(
    eps.map((e) => `${e.ip}:${e.port}`),
    ['10.0.0.10:8080', '10.0.0.2:8080', '10.0.0.9:8080'],
  );
  assert.deepEqual(
    eps.map((e) => e.isLocal),
    [false, false, true],
  );
  assert.equal(servicePortKey('ns', 'n', ''), 'ns/n');
});

test('snapshot: headless and ExternalName services are not proxied', () => {
  const headless = serviceWithDefaults({ namespace: 'a', name: 'h', clusterIP: 'None', ports: svc.ports });
  const ext = serviceWithDefaults({ namespace: 'a', name: 'e', type: 'ExternalName', externalName: 'x.example.com' });
  assert.equal(buildSnapshot([headless, ext], [], 'n').services.size, 0);
});

test('tracker: coalesces changes until a sync takes them, with trigger times', () => {
  const t = new ChangeTracker('node-a');
  t.onService(svc, 'add');
  t.onSlices('ns1/svc1', [slice('s1', ['10.0.0.1'])], 1.5);
  t.onSlices('ns1/svc1', [slice('s1', ['10.0.0.1', '10.0.0.2'])], 2.5);
  const taken = t.take();
  assert.deepEqual([...taken.changed].sort(), ['ns1/svc1:dns', 'ns1/svc1:http']);
  assert.deepEqual(taken.triggerTimes, [1.5, 2.5]);
  assert.equal(t.pendingCount, 0);
  // the same slices again change nothing
  t.onSlices('ns1/svc1', [slice('s1', ['10.0.0.1', '10.0.0.2'])], 3);
  assert.equal(t.pendingCount, 0);
  t.onService(svc, 'delete');
  assert.equal(t.snapshot().services.size, 0);
  assert.equal(t.take().changed.size, 2);
});

test('cost model: legacy iptables restore and first-packet walk coefficients', () => {
  const c = backendDefinition('iptables').cost({});
  const r: SyncResult = { mode: 'full', counts: { rules_written: 10000, chains_written: 0, bytes_written: 0, rules_in_kernel: 10000 } };
  assert.equal(c.syncSeconds(r).toFixed(6), '0.071000');
  assert.equal(
    c.lookupSeconds({ verdict: 'DNAT', endpoint: null, serviceKey: '', masquerade: false, counts: { rules_evaluated: 20000 } }).toFixed(9),
    '0.000060000',
  );
  // a calibration overrides coefficients by name
  const cal = backendDefinition('iptables').cost({}, { perRuleEvaluated: 12e-9 });
  assert.equal(
    cal
      .lookupSeconds({ verdict: 'DNAT', endpoint: null, serviceKey: '', masquerade: false, counts: { rules_evaluated: 20000 } })
      .toFixed(9),
    '0.000240000',
  );
});
