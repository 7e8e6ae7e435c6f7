import type { BackendKind, Packet, ProxyNodeConfig, Seconds } from '../types.js';
import { Scheduler } from '../sim/scheduler.js';
import { RngStreams } from '../sim/rng.js';
import { Cluster } from '../cluster/cluster.js';
import { EndpointsController } from '../cluster/endpoints.js';
import { objectKey } from '../cluster/selector.js';
import { KubeProxyNode, type SyncRecord } from '../proxy/kubeproxy.js';
import { CostModel } from '../proxy/cost.js';
import { createBackend } from '../backends/index.js';
import type { ScenarioCase } from '../scenario/load.js';
import { buildSyntheticCluster, distributionMean, type SyntheticService } from './build.js';
import { ZipfSampler } from '../workload/popularity.js';
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
}

/** A service the load can reach: its VIP and port, and where its pods are. */
interface Target {
  key: string;
  ip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
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
  const cost = new CostModel();
  const rec = new Recorder();

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
    const backend = createBackend(kind, { node: nodeCfg, restoreMode: sc.proxy.restoreMode, ipvsScheduler: sc.proxy.ipvsScheduler });
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
  cluster.subscribe((ev) => {
    if (ev.kind === 'service') for (const p of proxies) p.onService(ev.service, ev.op, ev.time);
  });
  endpoints.subscribe((ch) => {
    for (const p of proxies) p.onSlices(ch.serviceKey, ch.slices, ch.triggerTime);
  });

  const synthetic: SyntheticService[] = buildSyntheticCluster(cluster, sc.cluster, rng);

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
  for (const s of synthetic) {
    if (s.kind === 'headless' || s.kind === 'ExternalName') continue;
    const svc = cluster.services.get(objectKey(s.namespace, s.name))!;
    const p = svc.ports[0]!;
    if (p.protocol === 'SCTP') continue;
    targets.push({ key: objectKey(s.namespace, s.name), ip: svc.clusterIP, port: p.port, protocol: p.protocol });
  }
  rng.stream('load.rank').shuffle(targets);

  // churn: a burst of endpoint changes (each replaces one pod of a random service)
  const burst = sc.churn.endpointBurst;
  if (burst !== undefined && burst.changes > 0) {
    const burstRng = rng.stream('churn.burst');
    const withPods = synthetic.filter((s) => s.podNames.length > 0);
    let replaced = 0;
    for (let i = 0; i < burst.changes && withPods.length > 0; i++) {
      const at = t0 + burst.at + (burst.changes > 1 ? (burst.spreadSeconds * i) / (burst.changes - 1) : 0);
      const s = withPods[burstRng.int(withPods.length)]!;
      const k = burstRng.int(s.podNames.length);
      sched.at(at, () => {
        const old = cluster.pods.get(objectKey(s.namespace, s.podNames[k]!));
        if (old === undefined) return;
        cluster.deletePod(old.namespace, old.name);
        const name = `${s.name}-r${replaced++}`;
        cluster.addPod({ namespace: old.namespace, name, labels: old.labels, nodeName: old.nodeName, containerPorts: old.containerPorts });
        s.podNames[k] = name;
      }, 'burst');
    }
  }

  // load: Poisson arrivals of new connections, clients on every simulated node
  const load = sc.load;
  if (load.connectionsPerSecond > 0 && targets.length > 0) {
    const arrivals = rng.stream('load.arrivals');
    const pick = rng.stream('load.popularity');
    const clients = rng.stream('load.clients');
    const zipf = new ZipfSampler(targets.length, load.zipf);
    let srcPort = 0;
    const arrive = (): void => {
      const node = proxies[clients.int(proxies.length)]!;
      const t = targets[zipf.draw(pick)]!;
      const nodeInfo = cluster.nodes.get(node.name)!;
      const base = nodeInfo.podCIDR.split('/')[0]!.split('.').map(Number);
      const pkt: Packet = {
        srcIP: `${base[0]}.${base[1]}.${base[2]}.${250 - (srcPort % 8)}`,
        srcPort: 32768 + (srcPort++ % 28000),
        dstIP: t.ip,
        dstPort: t.port,
        protocol: load.protocol,
        local: false,
      };
      const conn = node.connect(pkt);
      rec.connection(conn, t.key);
      // requests of the connection: checked at up to 8 checkpoints, each standing for its share of the requests
      const n = load.requestsPerConnection;
      const checkpoints = Math.min(n, 8);
      for (let i = 0; i < checkpoints; i++) {
        const share = Math.floor((n * (i + 1)) / checkpoints) - Math.floor((n * i) / checkpoints);
        const at = sched.now + Math.floor((n * i) / checkpoints) * load.requestIntervalSeconds;
        const check = (): void => {
          const ep = conn.endpoint;
          const pod = ep === null ? undefined : cluster.podWithIP(ep.ip);
          const ok = pod !== undefined && pod.phase === 'Running' && pod.ready && !pod.terminating;
          rec.requests(share, ok);
          if (i === checkpoints - 1) node.close(pkt);
        };
        if (at === sched.now) check();
        else sched.at(at, check, 'request');
      }
      const next = sched.now + arrivals.exponential(load.connectionsPerSecond);
      if (next < end) sched.at(next, arrive, 'arrival');
    };
    sched.at(t0 + arrivals.exponential(load.connectionsPerSecond), arrive, 'arrival');
  }

  sched.runUntil(end);
  measuring = false;
  for (const p of proxies) rec.node(p, sc.duration);

  const epsMean = distributionMean(sc.cluster.endpointsPerService);
  const key = { scenario: c.id, backend: kind, services: sc.cluster.services, endpoints_per_service: epsMean };
  const rows = rec.rows(key, { requestsPerConnection: load.requestsPerConnection, duration: sc.duration as Seconds });
  let samples: SampleSet[] = [];
  if (opts.bench) {
    const micro = await microBenchmarks(first, targets, sc.bench, rng, sched.now);
    rows.push(...micro.rows.map((r) => ({ ...key, ...r })));
    samples = micro.samples.map((s) => ({ ...key, ...s }));
  }
  return { rows, samples };
}
