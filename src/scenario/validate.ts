/**
 * The semantic pass over a scenario after zod has checked its shape: every inconsistency between fields, every
 * value beyond what the machine can do, found before the first case runs, as an InputError naming the file,
 * the field and the reason (with the sweep point when the case comes from a sweep).
 *
 * The rules follow Kubernetes where it has one (API validation of Services and Deployments, kube-proxy's
 * --cluster-cidr, the node-port range 30000-32767) and the limits in src/io/limits.ts otherwise.
 */
import path from 'node:path';
import { InputError } from '../errors.js';
import { parseCidr4 } from '../net/ipv4.js';
import { parseCIDRSloppy } from '../net/ip.js';
import { backendDefinition } from '../backends/registry.js';
import { findMetricDef } from '../metrics/catalogue.js';
import { DEFAULT_CLUSTER } from '../cluster/cluster.js';
import { fmtCount, limit, LIMIT_DEFS } from '../io/limits.js';
import type { Distribution, ScenarioFile } from './schema.js';

/** Pod addresses per node: kube-controller-manager gives each node a /24 of the cluster CIDR. */
export const NODE_CIDR_PREFIX = 24;
export const PODS_PER_NODE = 253;

function maxOf(d: Distribution): number {
  if (typeof d === 'number') return d;
  if ('uniform' in d) return d.uniform[1];
  if ('choice' in d) return d.choice.reduce((a, b) => (b > a ? b : a), 0);
  return d.zipf.max;
}

function meanOf(d: Distribution): number {
  if (typeof d === 'number') return d;
  if ('uniform' in d) return (d.uniform[0] + d.uniform[1]) / 2;
  if ('choice' in d) return d.choice.reduce((a, b) => a + b, 0) / d.choice.length;
  return Math.min(d.zipf.max, 1 + d.zipf.max / 2);
}

/** A Kubernetes IntOrString (maxSurge, maxUnavailable) is zero (0 or "0%"). */
function isZero(v: number | string): boolean {
  return typeof v === 'number' ? v === 0 : Number.parseInt(v, 10) === 0;
}

/** Throws InputError `${file}: field` with the sweep point, if any, in the reason. */
function fail(file: string, point: Record<string, unknown>, field: string, reason: string): never {
  const p = Object.keys(point).length === 0 ? '' : ` (sweep point ${JSON.stringify(point)})`;
  throw new InputError(`${file}: ${field}`, `${reason}${p}`);
}

/** What one case will cost, roughly: see the README's "Limits" for the formula. */
export interface CaseEstimate {
  /** Simulated events: connections, requests and churn. */
  events: number;
  /** Work units: objects x proxies x syncs + first packets x rules walked + events x proxies. */
  work: number;
  /** State held: simulated proxies x objects (services and endpoints), a proxy for memory. */
  state: number;
}

export function estimateCase(s: ScenarioFile): CaseEstimate {
  const c = s.cluster;
  const eps = meanOf(c.endpointsPerService);
  const scale = (per: number): number => (per > 0 ? c.services / per : 1);
  const proxies = Math.min(c.proxyNodes ?? c.nodes, c.nodes);
  const objects = c.services * c.ports.length * (1 + eps); // rules and virtual servers grow with every port
  const connections = s.duration * s.load.connectionsPerSecond * scale(s.load.perServices);
  const requests = connections * s.load.requestsPerConnection;
  const ch = s.churn;
  const perSecond =
    (ch.rollingUpdatesPerMinute * eps +
      ch.scaleEventsPerMinute * ch.scaleStep +
      ch.crashesPerMinute +
      ch.readinessFlapsPerMinute * 2 +
      ch.serviceCreatesPerMinute * (1 + eps) +
      ch.serviceDeletesPerMinute) /
      60 +
    (ch.nodeDrainsPerHour * (objects / Math.max(1, c.nodes))) / 3600;
  const churn = s.duration * perSecond * scale(ch.perServices) + (ch.endpointBurst?.changes ?? 0) * 2;
  const syncs = 1 + Math.min(churn + 1, s.duration / Math.max(s.proxy.minSyncPeriod, 0.01)) + s.duration / s.proxy.syncPeriod;
  const events = requests + churn;
  const work = proxies * (objects * syncs + connections * (c.services + eps) + events);
  return { events, work, state: proxies * objects };
}

/** Checks one case (a scenario with its sweep point applied). */
export function validateCase(file: string, s: ScenarioFile, point: Record<string, unknown>): CaseEstimate {
  const c = s.cluster;
  const lim = (name: keyof typeof LIMIT_DEFS, field: string, v: number, what: string): void => {
    const max = limit(name);
    if (v > max) fail(file, point, field, `${fmtCount(v)} ${what} is beyond the limit of ${fmtCount(max)} (${LIMIT_DEFS[name].env})`);
  };
  lim('nodes', 'cluster.nodes', c.nodes, 'nodes');
  lim('services', 'cluster.services', c.services, 'services');
  lim('namespaces', 'cluster.namespaces', c.namespaces, 'namespaces');
  if (c.proxyNodes !== undefined && c.proxyNodes > c.nodes)
    fail(file, point, 'cluster.proxyNodes', `${c.proxyNodes} proxy nodes but only ${c.nodes} nodes`);
  const d = c.endpointsPerService;
  if (typeof d === 'object' && 'uniform' in d && d.uniform[0] > d.uniform[1]) {
    fail(file, point, 'cluster.endpointsPerService', `uniform [${d.uniform[0]}, ${d.uniform[1]}]: min is above max`);
  }
  const maxEps = maxOf(d);
  lim('endpoints', 'cluster.endpointsPerService', c.services * maxEps, `endpoints (${c.services} services x up to ${maxEps})`);

  // the pod network: a /24 per node, and room for every pod
  const cidr = parseCidr4(s.proxy.clusterCIDR);
  if (cidr === null || s.proxy.clusterCIDR.trim() !== s.proxy.clusterCIDR)
    fail(file, point, 'proxy.clusterCIDR', `'${s.proxy.clusterCIDR}' is not an IPv4 CIDR such as 10.128.0.0/9`);
  if (cidr.prefix > NODE_CIDR_PREFIX)
    fail(file, point, 'proxy.clusterCIDR', `${cidr.text} is smaller than the /${NODE_CIDR_PREFIX} each node gets`);
  const nodeCidrs = 2 ** (NODE_CIDR_PREFIX - cidr.prefix);
  if (nodeCidrs < c.nodes)
    fail(
      file,
      point,
      'proxy.clusterCIDR',
      `${cidr.text} holds ${fmtCount(nodeCidrs)} node /${NODE_CIDR_PREFIX}s, fewer than the ${fmtCount(c.nodes)} nodes`,
    );
  const capacity = c.nodes * PODS_PER_NODE;
  if (c.services * maxEps > capacity) {
    fail(
      file,
      point,
      'cluster.nodes',
      `${c.nodes} nodes hold at most ${fmtCount(capacity)} pods (a /24 each), but ${c.services} services may need ${fmtCount(c.services * maxEps)}`,
    );
  }

  // service ports: as the API server validates spec.ports
  const seenPort = new Map<string, number>();
  const seenName = new Map<string, number>();
  c.ports.forEach((p, i) => {
    const key = `${p.protocol}/${p.port}`;
    if (seenPort.has(key)) fail(file, point, `cluster.ports[${i}]`, `port ${key} is also cluster.ports[${seenPort.get(key)}]`);
    seenPort.set(key, i);
    if (c.ports.length > 1 && p.name === '')
      fail(file, point, `cluster.ports[${i}].name`, 'required when a service has more than one port');
    if (p.name !== '' && !/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(p.name))
      fail(file, point, `cluster.ports[${i}].name`, `'${p.name}' is not a port name (lower-case letters, digits and dashes, at most 15)`);
    if (seenName.has(p.name))
      fail(file, point, `cluster.ports[${i}].name`, `'${p.name}' is also the name of cluster.ports[${seenName.get(p.name)}]`);
    seenName.set(p.name, i);
  });

  // IP families: the cluster's, the policies of its services, the data planes that can run them
  const fams = c.ipFamilies;
  if (new Set(fams).size !== fams.length) fail(file, point, 'cluster.ipFamilies', `[${fams.join(', ')}] names a family twice`);
  if (!fams.includes('IPv4'))
    fail(file, point, 'cluster.ipFamilies', 'IPv6 single-stack clusters are not modelled (use [IPv4, IPv6] or [IPv6, IPv4])');
  const pol = c.ipFamilyPolicy;
  const polSum = pol.SingleStack + pol.PreferDualStack + pol.RequireDualStack;
  if (Math.abs(polSum - 1) > 1e-9) fail(file, point, 'cluster.ipFamilyPolicy', `fractions must sum to 1, got ${polSum}`);
  if (fams.length === 1 && pol.RequireDualStack > 0)
    fail(file, point, 'cluster.ipFamilyPolicy.RequireDualStack', 'a single-stack cluster refuses RequireDualStack services');
  if (fams.length === 1 && c.secondaryFamilyFraction > 0)
    fail(file, point, 'cluster.secondaryFamilyFraction', 'a single-stack cluster has no secondary family');
  if (fams.length === 2) {
    const v6 = parseCIDRSloppy(s.proxy.clusterCIDRv6);
    if (v6 === null || v6.family !== 'IPv6' || s.proxy.clusterCIDRv6.trim() !== s.proxy.clusterCIDRv6)
      fail(file, point, 'proxy.clusterCIDRv6', `'${s.proxy.clusterCIDRv6}' is not an IPv6 CIDR such as fd00:10:128::/48`);
    if (v6.prefix > 64 || 2 ** Math.min(64 - v6.prefix, 40) < c.nodes)
      fail(file, point, 'proxy.clusterCIDRv6', `${v6.text} holds fewer node /64s than the ${fmtCount(c.nodes)} nodes`);
    s.backends.forEach((b, i) => {
      const d = backendDefinition(b);
      if (!(d.simulatedIPFamilies ?? ['IPv4']).includes('IPv6'))
        fail(
          file,
          point,
          `backends[${i}]`,
          (d.ipFamilies ?? ['IPv4']).includes('IPv6')
            ? `${b} renders its IPv6 proxier (kpbench render) but does not walk IPv6 first packets, so it cannot run a dual-stack cluster`
            : `${b} has no IPv6 proxier in this harness, so it cannot run a dual-stack cluster`,
        );
    });
  }

  const t = c.serviceTypes;
  const sum = t.ClusterIP + t.NodePort + t.LoadBalancer + t.headless + t.ExternalName;
  if (Math.abs(sum - 1) > 1e-9) fail(file, point, 'cluster.serviceTypes', `fractions must sum to 1, got ${sum}`);
  const [lo, hi] = DEFAULT_CLUSTER.nodePortRange;
  const nodePorts = Math.ceil(c.services * (t.NodePort + t.LoadBalancer)) * c.ports.length;
  if (nodePorts > hi - lo + 1) {
    fail(
      file,
      point,
      'cluster.serviceTypes',
      `${fmtCount(nodePorts)} node ports needed (NodePort and LoadBalancer services x ${c.ports.length} ports), but the range ${lo}-${hi} has ${hi - lo + 1}`,
    );
  }

  // Deployments: as the API server validates a RollingUpdate strategy
  const ch = s.churn;
  if (typeof ch.maxUnavailable === 'string' && Number.parseInt(ch.maxUnavailable, 10) > 100)
    fail(file, point, 'churn.maxUnavailable', `${ch.maxUnavailable} is above 100%`);
  if (isZero(ch.maxSurge) && isZero(ch.maxUnavailable))
    fail(file, point, 'churn.maxUnavailable', 'may not be 0 when maxSurge is 0 (a rollout could never progress)');
  if (ch.endpointBurst !== undefined && ch.endpointBurst.at > s.duration) {
    fail(
      file,
      point,
      'churn.endpointBurst.at',
      `${ch.endpointBurst.at} s is after the end of the measured phase (duration ${s.duration} s)`,
    );
  }
  if (s.load.ingressFraction > 0 && !s.ingress.enabled) fail(file, point, 'load.ingressFraction', 'needs ingress.enabled: true');
  const benchMs = s.bench.timeMs * s.bench.rounds;
  if (benchMs > limit('benchMs')) {
    fail(
      file,
      point,
      s.bench.timeMs > limit('benchMs') / 2 ? 'bench.timeMs' : 'bench.rounds',
      `bench.timeMs x bench.rounds is ${fmtCount(benchMs)} ms, beyond the limit of ${fmtCount(limit('benchMs'))} (${LIMIT_DEFS.benchMs.env})`,
    );
  }
  c.manifests.forEach((m, i) => {
    if (m.trim() === '') fail(file, point, `cluster.manifests[${i}]`, 'empty path');
  });
  return estimateCase(s);
}

/** Checks what holds for a whole scenario file, whatever the sweep point. */
export function validateScenario(file: string, s: ScenarioFile): void {
  if (s.name.length > 63) throw new InputError(`${file}: name`, `${s.name.length} characters, more than 63 (names label rows and files)`);
  const seen = new Set<string>();
  s.backends.forEach((b, i) => {
    if (seen.has(b)) throw new InputError(`${file}: backends[${i}]`, `${b} is listed twice`);
    seen.add(b);
  });
  s.expect.forEach((e, i) => {
    if (!s.backends.includes(e.backend))
      throw new InputError(
        `${file}: expect[${i}].backend`,
        `${e.backend} is not one of the scenario's backends (${s.backends.join(', ')}): the check could never run`,
      );
    if (findMetricDef(e.metric) === undefined) throw new InputError(`${file}: expect[${i}].metric`, `unknown metric '${e.metric}'`);
    const { min, max } = e.exponent;
    if (min === undefined && max === undefined) throw new InputError(`${file}: expect[${i}].exponent`, 'needs min, max or both');
    if (min !== undefined && max !== undefined && min > max)
      throw new InputError(`${file}: expect[${i}].exponent`, `min ${min} is above max ${max}`);
  });
  s.reference.forEach((r, i) => {
    if (r.metric !== undefined && findMetricDef(r.metric) === undefined)
      throw new InputError(`${file}: reference[${i}].metric`, `unknown metric '${r.metric}'`);
  });
}

/** A manifest path of a scenario, resolved against the scenario file's directory. */
export function manifestPath(file: string, m: string): string {
  return path.resolve(path.dirname(file), m);
}
