/**
 * Issue 11: property-based tests (fast-check, seeded) generating malformed scenarios, manifests and flags; each
 * must give exit 2, one stderr line naming the file or flag, no stack trace, and write nothing. In-process
 * through main(), bounded: 200 runs in all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { BASE_SCENARIO, scenario, type BadInput } from './fixtures/bad-inputs.js';
import { runInProcess } from './fixtures/bad-run.js';

const SEED = 11;

async function holds(c: BadInput): Promise<void> {
  const v = await runInProcess(c);
  assert.equal(v.problem, null, `${c.name}: ${v.problem ?? ''}`);
}

const run = (d: string, ...extra: string[]): string[] => [
  'run',
  path.join(d, 's.yaml'),
  '--no-wall',
  '--out',
  path.join(d, 'out'),
  ...extra,
];

// values outside each kind of field's domain
const notANumber = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.boolean(),
  fc.constant({}),
);
const negative = fc.oneof(fc.integer({ min: -1e9, max: -1 }), fc.double({ min: -1e9, max: -1e-6, noNaN: true }));
const fractional = fc.integer({ min: 0, max: 1000 }).map((n) => n + 0.5);
const huge = fc.oneof(
  fc.constant(1e12),
  fc.constant(1e300),
  fc.integer({ min: 2e7, max: 2e9 }).map((n) => n * 1000),
);
const badCount = fc.oneof(notANumber, negative, fractional, huge);
const badPositive = fc.oneof(notANumber, negative, fc.constant(0), fc.constant(1e15));
const badFraction = fc.oneof(notANumber, negative, fc.double({ min: 1.0001, max: 1e6, noNaN: true }));
const badBool = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null));
const badEnum = fc.string({ minLength: 0, maxLength: 12 }).filter((s) => !/^(TCP|UDP|SCTP|ClusterCIDR|NodeCIDR|None)$/.test(s));

const FIELDS: Array<[string, fc.Arbitrary<unknown>]> = [
  ['seed', fc.oneof(badCount, fc.constant(2 ** 60))],
  ['duration', badPositive],
  ['cluster.nodes', fc.oneof(badCount, fc.constant(0), fc.integer({ min: 5001, max: 1e6 }))],
  ['cluster.proxyNodes', fc.oneof(badCount, fc.constant(0), fc.integer({ min: 3, max: 1000 }))],
  ['cluster.namespaces', fc.oneof(badCount, fc.constant(0))],
  ['cluster.services', fc.oneof(badCount, fc.integer({ min: 100_001, max: 1e9 }))],
  [
    'cluster.endpointsPerService',
    fc.oneof(
      badCount,
      fc.record({ uniform: fc.tuple(fc.integer({ min: 5, max: 100 }), fc.integer({ min: 0, max: 4 })) }),
      fc.record({ choice: fc.constant([]) }),
    ),
  ],
  ['cluster.sessionAffinityFraction', badFraction],
  ['cluster.serviceTypes.NodePort', badFraction],
  [
    'cluster.ports',
    fc.oneof(
      fc.constant([]),
      fc.array(fc.record({ name: fc.constant('p'), port: fc.integer({ min: 1, max: 5 }), targetPort: fc.constant(80) }), {
        minLength: 2,
        maxLength: 3,
      }),
    ),
  ],
  [
    'proxy.clusterCIDR',
    fc.oneof(
      fc.string({ maxLength: 12 }).filter((s) => !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)),
      fc.integer({ min: 25, max: 40 }).map((p) => `10.0.0.0/${p}`),
    ),
  ],
  ['proxy.minSyncPeriod', fc.oneof(notANumber, negative)],
  ['proxy.syncPeriod', badPositive],
  ['proxy.burstSyncs', fc.oneof(badCount, fc.constant(0))],
  ['proxy.masqueradeAll', badBool],
  ['proxy.detectLocalMode', badEnum],
  [
    'churn.maxUnavailable',
    fc.oneof(
      fc.integer({ min: 101, max: 10000 }).map((n) => `${n}%`),
      fc.string({ maxLength: 5 }).filter((s) => !/^\d+%?$/.test(s)),
      negative,
    ),
  ],
  ['churn.crashesPerMinute', fc.oneof(notANumber, negative, fc.constant(1e12))],
  ['churn.scaleStep', fc.oneof(badCount, fc.constant(0))],
  ['churn.crashLoop', badBool],
  ['load.connectionsPerSecond', fc.oneof(notANumber, negative, fc.constant(1e12))],
  ['load.requestsPerConnection', fc.oneof(badCount, fc.constant(0))],
  ['load.protocol', badEnum],
  ['load.ingressFraction', fc.oneof(badFraction, fc.double({ min: 0.01, max: 1, noNaN: true }))],
  ['bench.timeMs', fc.oneof(badCount, fc.integer({ min: 0, max: 9 }), fc.constant(1e9))],
  ['bench.rounds', fc.oneof(badCount, fc.constant(1), fc.constant(1e8))],
  [
    'name',
    fc.oneof(
      fc.string({ maxLength: 10 }).filter((s) => !/^[a-z0-9][a-z0-9-]*$/.test(s)),
      notANumber,
    ),
  ],
  [
    'backends',
    fc.oneof(
      fc.constant([]),
      fc.array(
        fc.string({ maxLength: 6 }).filter((s) => !/^[a-z]+$/.test(s)),
        { minLength: 1, maxLength: 2 },
      ),
    ),
  ],
];

function setDotted(obj: Record<string, unknown>, dotted: string, value: unknown): Record<string, unknown> {
  const out = structuredClone(obj);
  const parts = dotted.split('.');
  let cur: Record<string, unknown> = out;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
  return out;
}

test('malformed scenario fields: exit 2, one line naming the file, nothing written', async () => {
  const field = fc.integer({ min: 0, max: FIELDS.length - 1 }).chain((i) => FIELDS[i]![1].map((v) => [FIELDS[i]![0], v] as const));
  await fc.assert(
    fc.asyncProperty(field, fc.boolean(), async ([f, v], viaSweep) => {
      // the bad value set directly, or reached through a sweep (a valid value first)
      const s =
        viaSweep && !['name', 'backends', 'cluster.ports', 'cluster.endpointsPerService'].includes(f)
          ? { ...BASE_SCENARIO, sweep: { [f]: [v] } }
          : setDotted(BASE_SCENARIO, f, v);
      await holds({ name: `${f}=${JSON.stringify(v)}`, files: { 's.yaml': YAML.stringify(s) }, argv: (d) => run(d), expect: ['s.yaml'] });
    }),
    { numRuns: 100, seed: SEED },
  );
});

test('random text as a scenario file: exit 2, one line naming the file', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 })), async (text) => {
      fc.pre(!text.includes('name'));
      await holds({ name: `text ${JSON.stringify(text)}`, files: { 's.yaml': text }, argv: (d) => run(d), expect: ['s.yaml'] });
    }),
    { numRuns: 30, seed: SEED },
  );
});

const SVC = (spec: Record<string, unknown>): string =>
  YAML.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec });

test('malformed manifests: exit 2, one line naming the manifest', async () => {
  const bad = fc.oneof(
    fc.integer({ min: 65536, max: 1e7 }).map((p) => SVC({ ports: [{ port: p }] })),
    fc.integer({ min: 1, max: 29999 }).map((p) => SVC({ type: 'NodePort', ports: [{ port: 80, nodePort: p }] })),
    fc
      .string({ maxLength: 10 })
      .filter((s) => !['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(s))
      .map((t) => SVC({ type: t, ports: [{ port: 80 }] })),
    fc.constantFrom('NodePort', 'LoadBalancer').map((t) => SVC({ type: t, clusterIP: 'None', ports: [{ port: 80 }] })),
    fc.tuple(fc.integer({ min: 256, max: 999 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) =>
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'n1' },
        status: { addresses: [{ type: 'InternalIP', address: `${a}.${b}.1.1` }] },
      }),
    ),
  );
  await fc.assert(
    fc.asyncProperty(bad, async (text) => {
      await holds({
        name: `manifest ${text.slice(0, 60)}`,
        files: { 'm.yaml': text, 's.yaml': scenario({ cluster: { manifests: ['m.yaml'] } }) },
        argv: (d) => run(d),
        expect: ['m.yaml'],
      });
    }),
    { numRuns: 30, seed: SEED },
  );
});

test('malformed flags: exit 2, one line naming the flag', async () => {
  const flag = fc.oneof(
    fc
      .string({ maxLength: 30 })
      .filter((s) => !/^\d{1,15}$/.test(s))
      .map((v) => ['--seed', v]),
    fc
      .string({ maxLength: 10 })
      .filter((s) => !/^\s*\d+\s*\/\s*\d+\s*$/.test(s))
      .map((v) => ['--shard', v]),
    fc
      .tuple(fc.integer({ min: 2, max: 1000 }), fc.integer({ min: 0, max: 1 }))
      .map(([n, off]) => ['--shard', `${off === 0 ? 0 : n + 1}/${n}`]),
    fc
      .string({ maxLength: 10 })
      .filter((s) => !Number.isFinite(Number(s.trim().replace(/%$/, ''))) || Number(s) < 0 || s.trim() === '')
      .map((v) => ['--ci', '--threshold', v]),
    fc.constantFrom('', '.', '/', '/dev/null', '/proc/kpb', '/sys/kpb', '/dev/kpb').map((v) => ['--out', v]),
  );
  await fc.assert(
    fc.asyncProperty(flag, async (args) => {
      const name = args.find((a) => a.startsWith('--') && a !== '--ci')!;
      await holds({
        name: `flags ${JSON.stringify(args)}`,
        files: { 's.yaml': scenario() },
        argv: (d) =>
          name === '--out'
            ? ['run', path.join(d, 's.yaml'), '--no-wall', ...args]
            : run(d, ...args, ...(args.includes('--ci') ? ['--baseline', '$BASE'] : [])),
        expect: [name],
      });
    }),
    { numRuns: 40, seed: SEED },
  );
});
