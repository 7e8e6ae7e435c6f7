import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/cluster/cluster.js';
import { EndpointsController, type SlicesChange } from '../src/cluster/endpoints.js';
import { selectorMatches } from '../src/cluster/selector.js';
import { IpAllocator } from '../src/cluster/ip.js';

function setup(): { c: Cluster; ec: EndpointsController; changes: SlicesChange[]; now: { t: number } } {
  const now = { t: 0 };
  const c = new Cluster({ clock: () => now.t });
  const ec = new EndpointsController(c);
  const changes: SlicesChange[] = [];
  ec.subscribe((ch) => changes.push(ch));
  c.addNode('n1');
  c.addNode('n2');
  return { c, ec, changes, now };
}

test('selector: a subset of the pod labels', () => {
  assert.equal(selectorMatches({ app: 'a' }, { app: 'a', tier: 'web' }), true);
  assert.equal(selectorMatches({ app: 'a', tier: 'db' }, { app: 'a', tier: 'web' }), false);
  assert.equal(selectorMatches({}, { app: 'a' }), true);
});

test('endpoints: only Running and Ready pods matched by the selector; terminating ones flagged', () => {
  const { c, ec } = setup();
  c.addService({
    namespace: 'ns',
    name: 'web',
    selector: { app: 'web' },
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 }],
  });
  c.addPod({ namespace: 'ns', name: 'ready', labels: { app: 'web', v: '1' }, nodeName: 'n1' });
  c.addPod({ namespace: 'ns', name: 'unready', labels: { app: 'web' }, nodeName: 'n1', ready: false });
  c.addPod({ namespace: 'ns', name: 'pending', labels: { app: 'web' }, nodeName: 'n2', phase: 'Pending', ready: false });
  c.addPod({ namespace: 'ns', name: 'other', labels: { app: 'db' }, nodeName: 'n2' });
  c.addPod({ namespace: 'other-ns', name: 'elsewhere', labels: { app: 'web' }, nodeName: 'n2' });
  c.addPod({ namespace: 'ns', name: 'leaving', labels: { app: 'web' }, nodeName: 'n2' });
  c.updatePod('ns', 'leaving', { terminating: true, ready: false });
  const eps = ec.slicesOf('ns/web').flatMap((s) => s.endpoints);
  assert.deepEqual(
    eps.map((e) => [e.podName, e.conditions.ready, e.conditions.terminating]),
    [
      ['leaving', false, true],
      ['ready', true, false],
    ],
  );
  assert.deepEqual(ec.slicesOf('ns/web')[0]!.ports, [{ name: '', protocol: 'TCP', port: 8080 }]);
  // readiness flips take the pod out and back
  c.updatePod('ns', 'ready', { ready: false });
  assert.equal(
    ec
      .slicesOf('ns/web')
      .flatMap((s) => s.endpoints)
      .filter((e) => e.conditions.ready).length,
    0,
  );
  c.updatePod('ns', 'unready', { ready: true });
  assert.deepEqual(
    ec
      .slicesOf('ns/web')
      .flatMap((s) => s.endpoints)
      .filter((e) => e.conditions.ready)
      .map((e) => e.podName),
    ['unready'],
  );
});

test('endpoints: at most 100 endpoints per slice; change events carry the trigger time', () => {
  const { c, ec, changes, now } = setup();
  for (let i = 0; i < 250; i++)
    c.addPod({ namespace: 'ns', name: `p${String(i).padStart(3, '0')}`, labels: { app: 'big' }, nodeName: i % 2 ? 'n1' : 'n2' });
  now.t = 5;
  c.addService({
    namespace: 'ns',
    name: 'big',
    selector: { app: 'big' },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
  });
  assert.deepEqual(
    ec.slicesOf('ns/big').map((s) => s.endpoints.length),
    [100, 100, 50],
  );
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.triggerTime, 5);
  now.t = 7;
  c.deletePod('ns', 'p000');
  assert.equal(changes.length, 2);
  assert.equal(changes[1]!.triggerTime, 7);
  assert.equal(
    ec.slicesOf('ns/big').reduce((a, s) => a + s.endpoints.length, 0),
    249,
  );
  // a pod that matches nothing changes nothing
  c.addPod({ namespace: 'ns', name: 'stray', labels: { app: 'none' }, nodeName: 'n1' });
  assert.equal(changes.length, 2);
});

test('endpoints: named target ports resolve per pod; headless services get slices too', () => {
  const { c, ec } = setup();
  c.addPod({
    namespace: 'ns',
    name: 'a',
    labels: { app: 'x' },
    nodeName: 'n1',
    containerPorts: [{ name: 'web', containerPort: 8081, protocol: 'TCP' }],
  });
  c.addPod({
    namespace: 'ns',
    name: 'b',
    labels: { app: 'x' },
    nodeName: 'n1',
    containerPorts: [{ name: 'web', containerPort: 9090, protocol: 'TCP' }],
  });
  const s = c.addService({
    namespace: 'ns',
    name: 'x',
    clusterIP: 'None',
    selector: { app: 'x' },
    ports: [{ name: 'h', protocol: 'TCP', port: 80, targetPort: 'web', nodePort: 0 }],
  });
  assert.equal(s.clusterIP, 'None');
  assert.deepEqual(
    ec.slicesOf('ns/x').map((sl) => [sl.ports[0]!.port, sl.endpoints.map((e) => e.podName)]),
    [
      [8081, ['a']],
      [9090, ['b']],
    ],
  );
});

test('cluster: allocates cluster IPs and node ports, and frees them', () => {
  const { c } = setup();
  const a = c.addService({
    namespace: 'ns',
    name: 'a',
    type: 'NodePort',
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
  });
  assert.equal(a.clusterIP, '10.96.0.11');
  assert.equal(a.ports[0]!.nodePort, 30000);
  const b = c.addService({ namespace: 'ns', name: 'b', type: 'ExternalName', externalName: 'db.example.com' });
  assert.equal(b.clusterIP, '');
  assert.equal(c.nodes.get('n2')!.podCIDR, '10.244.1.0/24');
});

test('IP allocator hands out fresh addresses before reusing released ones', () => {
  const a = new IpAllocator('10.0.0.0/29', 1);
  const x = a.allocate();
  a.release(x);
  assert.deepEqual([a.allocate(), a.allocate()], ['10.0.0.2', '10.0.0.3']);
});
