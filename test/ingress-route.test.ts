import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../src/cluster/cluster.js';
import { IngressRouter, hostMatches, pathMatches } from '../src/cluster/ingress.js';
import type { Ingress, IngressPath } from '../src/types.js';

function p(path: string, pathType: IngressPath['pathType'], serviceName: string, servicePort: number | string): IngressPath {
  return { path, pathType, serviceName, servicePort };
}

/** The user's notes: service a (svc-test1, port 8080), service b (svc-test2, port 80 named http), one Ingress each. */
function notesCluster() {
  const cluster = new Cluster();
  cluster.addService({
    namespace: 'svc-test1',
    name: 'a',
    selector: { app: 'a' },
    ports: [{ name: '', protocol: 'TCP', port: 8080, targetPort: 8080, nodePort: 0 }],
  });
  cluster.addService({
    namespace: 'svc-test1',
    name: 'websocket-a',
    type: 'NodePort',
    selector: { app: 'a' },
    ports: [{ name: '', protocol: 'TCP', port: 8080, targetPort: 8080, nodePort: 0 }],
  });
  cluster.addService({
    namespace: 'svc-test2',
    name: 'b',
    selector: { app: 'b' },
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8085, nodePort: 0 }],
  });
  cluster.upsertIngress({
    namespace: 'svc-test1',
    name: 'a',
    ingressClassName: '',
    rules: [
      { host: 'a.svc-test1.com', paths: [p('/', 'ImplementationSpecific', 'a', 8080)] },
      { host: 'websocket-a.svc-test1.com', paths: [p('/', 'ImplementationSpecific', 'websocket-a', 8080)] },
    ],
  });
  cluster.upsertIngress({
    namespace: 'svc-test2',
    name: 'b',
    ingressClassName: '',
    rules: [{ host: 'b.svc-test2.com', paths: [p('/', 'Prefix', 'b', 'http')] }],
  });
  return { cluster, router: new IngressRouter(cluster) };
}

test("the notes' example: Ingresses of two namespaces reach their services through one router", () => {
  const { router } = notesCluster();
  const a = router.route('a.svc-test1.com', '/index.html');
  assert.ok(a);
  assert.equal(a.ingress, 'svc-test1/a');
  assert.equal(`${a.service.namespace}/${a.service.name}`, 'svc-test1/a');
  assert.equal(a.port.port, 8080);

  const ws = router.route('websocket-a.svc-test1.com', '/');
  assert.equal(ws?.service.name, 'websocket-a');
  assert.equal(ws?.service.type, 'NodePort');

  const b = router.route('b.svc-test2.com', '/api/v1');
  assert.ok(b);
  assert.equal(b.ingress, 'svc-test2/b');
  assert.equal(`${b.service.namespace}/${b.service.name}`, 'svc-test2/b');
  assert.equal(b.port.name, 'http'); // port by name
  assert.equal(b.port.port, 80);
  assert.equal(b.port.targetPort, 8085);

  // host matching ignores case, port and a trailing dot
  assert.equal(router.route('B.SVC-TEST2.COM:80', '/')?.service.name, 'b');
  assert.equal(router.route('a.svc-test1.com.', '/')?.service.name, 'a');
});

test('backend services are looked up in the Ingress namespace; a missing service or port gives no route', () => {
  const { cluster, router } = notesCluster();
  // an Ingress in svc-test2 naming service "a": there is no svc-test2/a
  cluster.upsertIngress({
    namespace: 'svc-test2',
    name: 'wrong',
    ingressClassName: '',
    rules: [{ host: 'c.example.com', paths: [p('/', 'Prefix', 'a', 8080)] }],
  });
  assert.equal(router.route('c.example.com', '/'), null);
  assert.deepEqual(router.match('c.example.com', '/')?.ingress, 'svc-test2/wrong');
  cluster.upsertIngress({
    namespace: 'svc-test2',
    name: 'wrong',
    ingressClassName: '',
    rules: [{ host: 'c.example.com', paths: [p('/', 'Prefix', 'b', 'grpc')] }],
  });
  assert.equal(router.route('c.example.com', '/'), null);
});

test('unknown host → null; deleting an Ingress removes its rules', () => {
  const { cluster, router } = notesCluster();
  assert.equal(router.route('nobody.example.com', '/'), null);
  assert.ok(router.route('b.svc-test2.com', '/'));
  cluster.deleteIngress('svc-test2', 'b');
  assert.equal(router.route('b.svc-test2.com', '/'), null);
});

test('path types: Exact, Prefix element-wise, ImplementationSpecific as Prefix (the Ingress docs table)', () => {
  const table: Array<[IngressPath['pathType'], string, string, boolean]> = [
    ['Prefix', '/', '/anything/at/all', true],
    ['Exact', '/foo', '/foo', true],
    ['Exact', '/foo', '/bar', false],
    ['Exact', '/foo', '/foo/', false],
    ['Exact', '/foo/', '/foo', false],
    ['Prefix', '/foo', '/foo', true],
    ['Prefix', '/foo', '/foo/', true],
    ['Prefix', '/foo/', '/foo', true],
    ['Prefix', '/foo/', '/foo/', true],
    ['Prefix', '/aaa/bb', '/aaa/bbb', false],
    ['Prefix', '/aaa/bbb', '/aaa/bbb', true],
    ['Prefix', '/aaa/bbb/', '/aaa/bbb', true],
    ['Prefix', '/aaa/bbb', '/aaa/bbb/', true],
    ['Prefix', '/aaa/bbb', '/aaa/bbb/ccc', true],
    ['Prefix', '/aaa/bbb', '/aaa/bbbxyz', false],
    ['Prefix', '/foo', '/foobar', false],
    ['Prefix', '/foo', '/FOO', false],
    ['ImplementationSpecific', '/foo', '/foo/bar', true],
    ['ImplementationSpecific', '/foo', '/foobar', false],
    ['Prefix', '', '/x', true],
    ['Exact', '/foo', '/foo?q=1', true],
  ];
  for (const [type, path, req, want] of table) assert.equal(pathMatches(path, type, req), want, `${type} ${path} ${req}`);
});

test('longest matching path wins; Exact beats Prefix at equal length', () => {
  const cluster = new Cluster();
  for (const n of ['root', 'aaa', 'aaabbb', 'exact', 'prefix']) {
    cluster.addService({
      namespace: 'web',
      name: n,
      selector: { app: n },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
    });
  }
  cluster.upsertIngress({
    namespace: 'web',
    name: 'fanout',
    ingressClassName: '',
    rules: [
      {
        host: 'foo.bar.com',
        paths: [
          p('/', 'Prefix', 'root', 80),
          p('/aaa', 'Prefix', 'aaa', 80),
          p('/aaa/bbb', 'Prefix', 'aaabbb', 80),
          p('/foo', 'Prefix', 'prefix', 'http'),
          p('/foo', 'Exact', 'exact', 80),
        ],
      },
    ],
  });
  const r = new IngressRouter(cluster);
  const svc = (path: string) => r.route('foo.bar.com', path)?.service.name ?? null;
  assert.equal(svc('/aaa/ccc'), 'aaa');
  assert.equal(svc('/aaa/bbb'), 'aaabbb');
  assert.equal(svc('/aaa/bbb/ccc'), 'aaabbb');
  assert.equal(svc('/aaa/bbbxyz'), 'aaa');
  assert.equal(svc('/ccc'), 'root');
  assert.equal(svc('/foo'), 'exact');
  assert.equal(svc('/foo/x'), 'prefix');
  assert.equal(svc('/foobar'), 'root');
});

test('wildcard hosts cover exactly one label; precise hosts take precedence; host-less rules catch the rest', () => {
  assert.equal(hostMatches('*.foo.com', 'bar.foo.com'), true);
  assert.equal(hostMatches('*.foo.com', 'baz.bar.foo.com'), false);
  assert.equal(hostMatches('*.foo.com', 'foo.com'), false);
  assert.equal(hostMatches('', 'anything'), true);

  const cluster = new Cluster();
  for (const n of ['service1', 'service2', 'service3', 'precise']) {
    cluster.addService({
      namespace: 'default',
      name: n,
      selector: { app: n },
      ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
    });
  }
  cluster.upsertIngress({
    namespace: 'default',
    name: 'ingress-wildcard-host',
    ingressClassName: '',
    rules: [
      { host: 'foo.bar.com', paths: [p('/bar', 'Prefix', 'service1', 80)] },
      { host: '*.foo.com', paths: [p('/foo', 'Prefix', 'service2', 80)] },
      { host: '', paths: [p('/', 'Prefix', 'service3', 80)] },
    ],
  });
  cluster.upsertIngress({
    namespace: 'default',
    name: 'precise',
    ingressClassName: '',
    rules: [{ host: 'www.foo.com', paths: [p('/', 'Prefix', 'precise', 80)] }],
  });
  const r = new IngressRouter(cluster);
  const svc = (host: string, path: string) => r.route(host, path)?.service.name ?? null;
  assert.equal(svc('foo.bar.com', '/bar/x'), 'service1');
  assert.equal(svc('bar.foo.com', '/foo'), 'service2');
  assert.equal(svc('www.foo.com', '/foo'), 'precise'); // the precise host wins over the wildcard
  assert.equal(svc('baz.bar.foo.com', '/foo'), 'service3'); // two labels: only the catch-all rule
  assert.equal(svc('foo.com', '/foo'), 'service3');
  assert.equal(svc('other.example.org', '/x'), 'service3');
  // a host with its own rules but no matching path is not handed to the catch-all
  assert.equal(svc('foo.bar.com', '/other'), null);
  assert.equal(svc('bar.foo.com', '/other'), null);
});

test('conflicting rules across Ingresses: the oldest Ingress wins, whatever its namespace', () => {
  const cluster = new Cluster();
  for (const ns of ['team-a', 'team-b']) {
    cluster.addService({
      namespace: ns,
      name: 'web',
      selector: { app: 'web' },
      ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
    });
  }
  const ing = (ns: string): Ingress => ({
    namespace: ns,
    name: 'web',
    ingressClassName: '',
    rules: [{ host: 'shop.example.com', paths: [p('/', 'Prefix', 'web', 80)] }],
  });
  cluster.upsertIngress(ing('team-b'));
  cluster.upsertIngress(ing('team-a'));
  const r = new IngressRouter(cluster);
  assert.equal(r.route('shop.example.com', '/')?.ingress, 'team-b/web');
  // an update keeps the age
  cluster.upsertIngress(ing('team-b'));
  assert.equal(r.route('shop.example.com', '/')?.service.namespace, 'team-b');
  // delete and re-create: now the younger
  cluster.deleteIngress('team-b', 'web');
  cluster.upsertIngress(ing('team-b'));
  assert.equal(r.route('shop.example.com', '/')?.service.namespace, 'team-a');
});

test('ingress class filter', () => {
  const cluster = new Cluster();
  cluster.addService({
    namespace: 'default',
    name: 'web',
    selector: { app: 'web' },
    ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }],
  });
  const mk = (name: string, cls: string, host: string): Ingress => ({
    namespace: 'default',
    name,
    ingressClassName: cls,
    rules: [{ host, paths: [p('/', 'Prefix', 'web', 80)] }],
  });
  cluster.upsertIngress(mk('n', 'nginx', 'n.example.com'));
  cluster.upsertIngress(mk('k', 'kong', 'k.example.com'));
  cluster.upsertIngress(mk('none', '', 'none.example.com'));
  const all = new IngressRouter(cluster);
  const nginx = new IngressRouter(cluster, { ingressClassName: 'nginx' });
  const nginxLegacy = new IngressRouter(cluster, { ingressClassName: 'nginx', watchIngressWithoutClass: true });
  const hosts = (r: IngressRouter) => ['n', 'k', 'none'].filter((h) => r.route(`${h}.example.com`, '/') !== null);
  assert.deepEqual(hosts(all), ['n', 'k', 'none']);
  assert.deepEqual(hosts(nginx), ['n']);
  assert.deepEqual(hosts(nginxLegacy), ['n', 'none']);
});
