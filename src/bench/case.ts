import type { BackendKind, Packet, ProxyNodeConfig, Seconds } from '../types.js';
import { Scheduler } from '../sim/scheduler.js';
import { RngStreams } from '../sim/rng.js';
import { Cluster } from '../cluster/cluster.js';
import { EndpointsController } from '../cluster/endpoints.js';
import { objectKey } from '../cluster/selector.js';
import { KubeProxyNode, type ConnectionRecord, type SyncRecord } from '../proxy/kubeproxy.js';
import { loadManifests } from '../cluster/manifests.js';
import { setUpIngress } from './ingress.js';
import { backendDefinition } from '../backends/registry.js';
import type { ScenarioCase } from '../scenario/load.js';
import { buildSyntheticCluster, distributionMean, loadManifestCluster, type SyntheticService } from './build.js';
import { ZipfSampler } from '../workload/popularity.js';
import { Deployments } from '../workload/deployments.js';
import { startChurn } from '../workload/churn.js';
import { Recorder } from './recorder.js';
import { microBenchmarks, type SampleSet } from './micro.js';
import type { MetricRow } from '../metrics/stats.js';

export interface CaseOutput {
  rows: MetricRow[];
  samples: SampleSet[];
}

export interface CaseOptions {
  /** Run the tinybench micro-benchmarks (measured wall-clock metrics). */
  bench: boolean;
  /** Cost-model coefficients by backend kind and name, overriding the defaults (`kpbench run --calibration`). */
  calibration?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** A service the load can reach: its VIP and port, and where its pods are. */
interface Target {
  key: string;
  ip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  /** Where an ingress routes to this service. */
  host: string;
  path: string;
}

/**
 * Runs one case for one backend: builds the cluster, starts a kube-proxy per simulated node, lets the initial
 * sync finish, then drives churn and load through the measured phase, and reports counted, modelled and (when
 * asked) measured metrics.
 */
export async function runCase(c: ScenarioCase, kind: BackendKind, opts: CaseOptions): Promise<CaseOutput> {
  const sc = c.scenario;
  const sched = new Scheduler();
  const rng = new RngStreams(sc.seed);
  const cluster = new Cluster({ clock: () => sched.now, clusterCIDR: sc.proxy.clusterCIDR });
  const endpoints = new EndpointsController(cluster);
  const def = backendDefinition(kind);
  const backendOptions: unknown = def.optionsSchema.parse((sc.proxy as Record<string, unknown>)[kind] ?? {});
  const cost = def.cost(backendOptions, opts.calibration?.[kind]);
  const rec = new Recorder(def.metrics);

  // nodes first, so kube-proxies exist before objects and see every object as an event
  for (let i = 0; i < sc.cluster.nodes; i++) cluster.addNode(`node-${i + 1}`);
  const proxyCount = Math.min(sc.cluster.proxyNodes ?? sc.cluster.nodes, sc.cluster.nodes);
  const proxies: KubeProxyNode[] = [];
  let measuring = false;
  for (const node of [...cluster.nodes.values()].slice(0, proxyCount)) {
    const nodeCfg: ProxyNodeConfig = {
      nodeName: node.name,
      nodeIPs: node.ips,
      clusterCIDR: sc.proxy.clusterCIDR,
      podCIDR: node.podCIDR,
      localDetector: sc.proxy.detectLocalMode,
      masqueradeAll: sc.proxy.masqueradeAll,
      masqueradeBit: 14,
      nodePortAddresses: [],
    };
    const backend = def.create(nodeCfg, backendOptions);
    const kp = new KubeProxyNode({
      nodeName: node.name,
      backend,
      sched,
      cost,
      runner: { minSyncPeriod: sc.proxy.minSyncPeriod, syncPeriod: sc.proxy.syncPeriod, burst: sc.proxy.burstSyncs },
      rng: rng.stream(`dataplane.${node.name}`),
      onSync: (r: SyncRecord) => rec.sync(r, measuring),
    });
    proxies.push(kp);
  }
  // watch delivery: at once while the cluster is built; during the measured phase each node sees a change after
  // its own random delay (in order), so nodes sync on their own schedules
  const delivered = new Map<string, number>();
  const watchRng = new Map(proxies.map((p) => [p.name, rng.stream(`watch.${p.name}`)]));
  const deliver = (p: KubeProxyNode, fn: () => void): void => {
    if (!measuring || sc.proxy.watchDelaySeconds === 0) return fn();
    const at = Math.max(delivered.get(p.name) ?? 0, sched.now + watchRng.get(p.name)!.exponential(1 / sc.proxy.watchDelaySeconds));
    delivered.set(p.name, at);
    sched.at(at, fn, 'watch');
  };
  cluster.subscribe((ev) => {
    if (ev.kind === 'service') for (const p of proxies) deliver(p, () => p.onService(ev.service, ev.op));
  });
  endpoints.subscribe((ch) => {
    for (const p of proxies) deliver(p, () => p.onSlices(ch.serviceKey, ch.slices, ch.triggerTime));
  });

  const churn = sc.churn;
  const deployments = new Deployments(cluster, sched, rng.stream('workload.placement'), {
    startupSeconds: churn.startupSeconds,
    readinessDelaySeconds: churn.readinessDelaySeconds,
    terminationGraceSeconds: churn.terminationGraceSeconds,
  });
  const synthetic: SyntheticService[] = buildSyntheticCluster(cluster, sc.cluster, rng, deployments);
  const manifestServices = sc.cluster.manifests.length > 0 ? loadManifestCluster(cluster, loadManifests(sc.cluster.manifests)) : [];
  const ingress = sc.ingress.enabled ? setUpIngress(cluster, synthetic, sc.ingress, proxies.map((p) => p.name)) : null;

  // initial sync on every node at t = 0
  for (const p of proxies) p.start();
  sched.runUntil(0);
  const first = proxies[0]!;
  rec.initial(first.backend.size());
  const t0 = Math.max(...proxies.map((p) => p.readyAt));
  sched.runUntil(t0);
  measuring = true;
  const end = t0 + sc.duration;

  // targets of the load: proxied services, by popularity rank (the rank order is a seeded shuffle)
  const targets: Target[] = [];
  for (const key of [...synthetic.map((s) => objectKey(s.namespace, s.name)), ...manifestServices]) {
    const svc = cluster.services.get(key)!;
    const p = svc.ports[0];
    if (p === undefined || svc.clusterIP === 'None' || svc.clusterIP === '' || p.protocol === 'SCTP') continue;
    targets.push({ key, ip: svc.clusterIP, port: p.port, protocol: p.protocol, path: `/${svc.name}`, host: `${svc.namespace}.example.com` });
  }
  rng.stream('load.rank').shuffle(targets);

  // churn: a burst of endpoint changes (each deletes one pod of a random service; its Deployment replaces it)
  const withPods = synthetic.filter((s) => s.deployment !== null);
  const burst = churn.endpointBurst;
  if (burst !== undefined && burst.changes > 0 && withPods.length > 0) {
    const burstRng = rng.stream('churn.burst');
    for (let i = 0; i < burst.changes; i++) {
      const at = t0 + burst.at + (burst.changes > 1 ? (burst.spreadSeconds * i) / (burst.changes - 1) : 0);
      sched.at(at, () => {
        const s = withPods[burstRng.int(withPods.length)]!;
        const pods = deployments.podsOf(s.namespace, s.deployment!);
        if (pods.length > 0) deployments.deletePod(s.namespace, pods[burstRng.int(pods.length)]!.name);
      }, 'burst');
    }
  }
  // churn: Poisson processes of rollouts, scaling, crashes, flaps, drains, service creation and deletion
  const k = churn.perServices > 0 ? sc.cluster.services / churn.perServices : 1;
  const counters = startChurn(
    { cluster, sched, deployments, rng, services: withPods.map((s) => ({ namespace: s.namespace, name: s.name, deployment: s.deployment! })) },
    {
      rollingUpdatesPerMinute: churn.rollingUpdatesPerMinute * k,
      maxSurge: churn.maxSurge,
      maxUnavailable: churn.maxUnavailable,
      scaleEventsPerMinute: churn.scaleEventsPerMinute * k,
      scaleStep: churn.scaleStep,
      crashesPerMinute: churn.crashesPerMinute * k,
      crashLoop: churn.crashLoop,
      readinessFlapsPerMinute: churn.readinessFlapsPerMinute * k,
      flapSeconds: churn.flapSeconds,
      nodeDrainsPerHour: churn.nodeDrainsPerHour * k,
      serviceCreatesPerMinute: churn.serviceCreatesPerMinute * k,
      serviceDeletesPerMinute: churn.serviceDeletesPerMinute * k,
      endpointsPerService: Math.max(1, Math.round(distributionMean(sc.cluster.endpointsPerService))),
    },
    end,
  );

  // load: Poisson arrivals of new connections, clients on every simulated node
  const load = sc.load;
  const rate = load.perServices > 0 ? (load.connectionsPerSecond * sc.cluster.services) / load.perServices : load.connectionsPerSecond;
  if (rate > 0 && targets.length > 0) {
    const arrivals = rng.stream('load.arrivals');
    const pick = rng.stream('load.popularity');
    const clients = rng.stream('load.clients');
    const zipf = new ZipfSampler(targets.length, load.zipf);
    const ingressRng = rng.stream('load.ingress');
    // client pods on each node: the last addresses of the node's /24 ("10.128.3." + 243..250)
    const clientPrefix = new Map(proxies.map((p) => [p.name, cluster.nodes.get(p.name)!.podCIDR.replace(/\d+\/\d+$/, '')]));
    let srcPort = 0;
    const readyPod = (ep: { ip: string } | null): boolean => {
      const pod = ep === null ? undefined : cluster.podWithIP(ep.ip);
      return pod !== undefined && pod.phase === 'Running' && pod.ready && !pod.terminating;
    };
    const arrive = (): void => {
      const t = targets[zipf.draw(pick)]!;
      const port = 32768 + (srcPort++ % 28000);
      // hops of this connection: [node, packet, first-packet record]; a request succeeds when every hop's endpoint is a ready pod
      const hops: Array<[KubeProxyNode, Packet, ConnectionRecord]> = [];
      let routed = true;
      if (ingress !== null && ingressRng.next() < load.ingressFraction) {
        // client -> NodePort of the ingress controller on a node -> ingress pod -> service VIP -> pod
        const entry = proxies[clients.int(proxies.length)]!;
        const first: Packet = { srcIP: '198.51.100.7', srcPort: port, dstIP: cluster.nodes.get(entry.name)!.ips[0]!, dstPort: ingress.nodePort, protocol: 'TCP', local: false };
        const c1 = entry.connect(first);
        rec.connection(c1, ingress.serviceKey);
        hops.push([entry, first, c1]);
        const ingressPod = c1.endpoint === null ? undefined : cluster.podWithIP(c1.endpoint.ip);
        const podNode = ingressPod === undefined ? undefined : proxies.find((p) => p.name === ingressPod.nodeName);
        const route = ingress.router.route(t.host, t.path);
        rec.ingress(route !== null);
        if (ingressPod !== undefined && podNode !== undefined && route !== null) {
          const second: Packet = { srcIP: ingressPod.ip, srcPort: port, dstIP: route.service.clusterIP, dstPort: route.port.port, protocol: route.port.protocol === 'UDP' ? 'UDP' : 'TCP', local: false };
          const c2 = podNode.connect(second);
          rec.connection(c2, objectKey(route.service.namespace, route.service.name));
          hops.push([podNode, second, c2]);
        } else routed = false;
      } else {
        const node = proxies[clients.int(proxies.length)]!;
        const pkt: Packet = { srcIP: `${clientPrefix.get(node.name)!}${250 - (srcPort % 8)}`, srcPort: port, dstIP: t.ip, dstPort: t.port, protocol: load.protocol, local: false };
        const conn = node.connect(pkt);
        rec.connection(conn, t.key);
        hops.push([node, pkt, conn]);
      }
      // requests of the connection: checked at up to 8 checkpoints, each standing for its share of the requests
      const n = load.requestsPerConnection;
      const checkpoints = Math.min(n, 8);
      for (let i = 0; i < checkpoints; i++) {
        const share = Math.floor((n * (i + 1)) / checkpoints) - Math.floor((n * i) / checkpoints);
        const at = sched.now + Math.floor((n * i) / checkpoints) * load.requestIntervalSeconds;
        const check = (): void => {
          rec.requests(share, routed && hops.every(([, , c]) => readyPod(c.endpoint)));
          if (i === checkpoints - 1) for (const [node, pkt] of hops) node.close(pkt);
        };
        if (at === sched.now) check();
        else sched.at(at, check, 'request');
      }
      const next = sched.now + arrivals.exponential(rate);
      if (next < end) sched.at(next, arrive, 'arrival');
    };
    sched.at(t0 + arrivals.exponential(rate), arrive, 'arrival');
  }

  sched.runUntil(end);
  measuring = false;
  for (const p of proxies) rec.node(p, sc.duration);

  const epsMean = distributionMean(sc.cluster.endpointsPerService);
  const key = { scenario: c.id, backend: kind, services: sc.cluster.services, endpoints_per_service: epsMean };
  const rows = rec.rows(key, { requestsPerConnection: load.requestsPerConnection, duration: sc.duration as Seconds });
  for (const [name, v] of Object.entries(counters)) rows.push({ ...key, metric: `churn_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`, statistic: 'total', value: v, unit: 'events' });
  let samples: SampleSet[] = [];
  if (opts.bench) {
    const micro = await microBenchmarks(first, targets, sc.bench, rng, sched.now);
    rows.push(...micro.rows.map((r) => ({ ...key, ...r })));
    samples = micro.samples.map((s) => ({ ...key, ...s }));
  }
  return { rows, samples };
}
