/**
 * Step 1 of a case: the cluster, a kube-proxy per simulated node with the case's backend, the workload's objects,
 * and the initial sync on every node. Returns the world the later steps (churn, load, collect) drive.
 */
import type { BackendDefinition, BackendKind, ProxyNodeConfig, Seconds } from '../../types.js';
import { Scheduler } from '../../sim/scheduler.js';
import { RngStreams } from '../../sim/rng.js';
import { Cluster } from '../../cluster/cluster.js';
import { EndpointsController } from '../../cluster/endpoints.js';
import { KubeProxyNode, type SyncRecord } from '../../proxy/kubeproxy.js';
import type { CostModel } from '../../types.js';
import { loadManifests } from '../../cluster/manifests.js';
import { setUpIngress, type IngressSetup } from '../ingress.js';
import { backendDefinition } from '../../backends/registry.js';
import type { ScenarioCase } from '../../scenario/load.js';
import { buildSyntheticCluster, loadManifestCluster, type SyntheticService } from '../build.js';
import { Deployments } from '../../workload/deployments.js';
import { Recorder } from '../recorder.js';
import { HopRecorder } from '../hops.js';

export interface CaseOptions {
  /** Run the tinybench micro-benchmarks (measured wall-clock metrics). */
  bench: boolean;
  /** Cost-model coefficients by backend kind and name, overriding the defaults (`kpbench run --calibration`). */
  calibration?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Called as each phase of the case begins (`kpbench profile` times them); 'done' when the case is over. */
  onPhase?: (phase: CasePhase) => void;
}

/** The phases of a case, in order. */
export const CASE_PHASES = ['build', 'initial_sync', 'measured', 'collect', 'wall', 'done'] as const;
export type CasePhase = (typeof CASE_PHASES)[number];

/** Everything a case's steps share. */
export interface CaseWorld {
  readonly c: ScenarioCase;
  readonly kind: BackendKind;
  readonly sc: ScenarioCase['scenario'];
  readonly sched: Scheduler;
  readonly rng: RngStreams;
  readonly cluster: Cluster;
  readonly def: BackendDefinition<unknown>;
  readonly cost: CostModel;
  readonly rec: Recorder;
  /** Per-hop classification of ingress traffic (src/bench/hops.ts). */
  readonly hops: HopRecorder;
  /** The kube-proxies, one per proxied node (the first `proxyNodes` nodes): the primary family's proxier. */
  readonly proxies: KubeProxyNode[];
  /**
   * Every proxier of a node by node name, primary family first: on a dual-stack cluster a node runs one per family
   * (kube-proxy's meta-proxier), on a single-stack one just the entry of `proxies`.
   */
  readonly proxiersOf: ReadonlyMap<string, readonly KubeProxyNode[]>;
  readonly deployments: Deployments;
  readonly synthetic: SyntheticService[];
  /** Service keys of the services loaded from manifests. */
  readonly manifestServices: string[];
  readonly ingress: IngressSetup | null;
  /** When every node finished its initial sync: the measured phase starts here. */
  readonly t0: Seconds;
  /** End of the measured phase. */
  readonly end: Seconds;
  /** Whether syncs and watch delays belong to the measured phase (set by the runner once the build is done). */
  measuring: boolean;
}

/** Builds a case's cluster and kube-proxies and runs the initial sync on every node (up to `t0`). */
export function buildCase(
  c: ScenarioCase,
  kind: BackendKind,
  opts: Pick<CaseOptions, 'calibration' | 'onPhase'> & {
    /** Keep what printing a ruleset needs (a case never prints one; tests that look at a case's rulesets do). */
    renderable?: boolean;
  },
): CaseWorld {
  const sc = c.scenario;
  opts.onPhase?.('build');
  const sched = new Scheduler();
  const rng = new RngStreams(sc.seed);
  const families = sc.cluster.ipFamilies;
  const cluster = new Cluster({
    clock: () => sched.now,
    clusterCIDR: sc.proxy.clusterCIDR,
    ...(families.length === 2 ? { ipFamilies: [...families], clusterCIDRv6: sc.proxy.clusterCIDRv6 } : {}),
  });
  const endpoints = new EndpointsController(cluster);
  const def = backendDefinition(kind);
  const backendOptions: unknown = def.optionsSchema.parse((sc.proxy as Record<string, unknown>)[kind] ?? {});
  // a calibration is keyed by the variant the options select (iptables-legacy, iptables-nft), else by the kind
  const cost = def.cost(backendOptions, opts.calibration?.[def.variant?.(backendOptions) ?? kind] ?? opts.calibration?.[kind]);
  const rec = new Recorder(def.metrics);
  const world = { measuring: false } as CaseWorld;

  // nodes first, so kube-proxies exist before objects and see every object as an event
  for (let i = 0; i < sc.cluster.nodes; i++) cluster.addNode(`node-${i + 1}`);
  const proxyCount = Math.min(sc.cluster.proxyNodes ?? sc.cluster.nodes, sc.cluster.nodes);
  const proxies: KubeProxyNode[] = [];
  const proxiersOf = new Map<string, KubeProxyNode[]>();
  for (const node of [...cluster.nodes.values()].slice(0, proxyCount)) {
    const mine: KubeProxyNode[] = [];
    for (const family of families.length === 2 ? families : (['IPv4'] as const)) {
      const v6 = family === 'IPv6';
      const nodeCfg: ProxyNodeConfig = {
        nodeName: node.name,
        nodeIPs: v6 ? (node.ipsV6 ?? []) : node.ips,
        clusterCIDR: v6 ? sc.proxy.clusterCIDRv6 : sc.proxy.clusterCIDR,
        podCIDR: v6 ? (node.podCIDRV6 ?? '') : node.podCIDR,
        localDetector: sc.proxy.detectLocalMode,
        masqueradeAll: sc.proxy.masqueradeAll,
        masqueradeBit: 14,
        nodePortAddresses: [],
        ...(v6 ? { ipFamily: family } : {}),
        // a case never prints a ruleset: backends may drop what only render() needs
        renderable: opts.renderable ?? false,
        // many simulated nodes share what does not depend on the node (counts stay per node)
        shared: proxyCount > 1,
      };
      const backend = def.create(nodeCfg, backendOptions);
      mine.push(
        new KubeProxyNode({
          nodeName: node.name,
          family,
          backend,
          sched,
          cost,
          runner: { minSyncPeriod: sc.proxy.minSyncPeriod, syncPeriod: sc.proxy.syncPeriod, burst: sc.proxy.burstSyncs },
          // the IPv4 proxier keeps the stream a single-stack node has; the IPv6 one draws from its own
          rng: rng.stream(v6 ? `dataplane.${node.name}.IPv6` : `dataplane.${node.name}`),
          onSync: (r: SyncRecord) => rec.sync(r, world.measuring),
          shared: proxyCount > 1,
        }),
      );
    }
    proxiersOf.set(node.name, mine);
    proxies.push(mine[0]!);
  }
  // watch delivery: at once while the cluster is built; during the measured phase each node sees a change after
  // its own random delay (in order), so nodes sync on their own schedules
  const delivered = new Map<string, number>();
  const watchRng = new Map(proxies.map((p) => [p.name, rng.stream(`watch.${p.name}`)]));
  const deliver = (p: KubeProxyNode, fn: () => void): void => {
    if (!world.measuring || sc.proxy.watchDelaySeconds === 0) return fn();
    const at = Math.max(delivered.get(p.name) ?? 0, sched.now + watchRng.get(p.name)!.exponential(1 / sc.proxy.watchDelaySeconds));
    delivered.set(p.name, at);
    sched.at(at, fn, 'watch');
  };
  // a node's proxiers share its informers (the meta-proxier hands each event to both): one delivery per node
  cluster.subscribe((ev) => {
    if (ev.kind === 'service')
      for (const p of proxies)
        deliver(p, () => {
          for (const x of proxiersOf.get(p.name)!) x.onService(ev.service, ev.op);
        });
  });
  endpoints.subscribe((ch) => {
    for (const p of proxies)
      deliver(p, () => {
        for (const x of proxiersOf.get(p.name)!) x.onSlices(ch.serviceKey, ch.slices, ch.triggerTime);
      });
  });

  const churn = sc.churn;
  const deployments = new Deployments(cluster, sched, rng.stream('workload.placement'), {
    startupSeconds: churn.startupSeconds,
    readinessDelaySeconds: churn.readinessDelaySeconds,
    terminationGraceSeconds: churn.terminationGraceSeconds,
  });
  const synthetic: SyntheticService[] = buildSyntheticCluster(cluster, sc.cluster, rng, deployments);
  const manifestServices = sc.cluster.manifests.length > 0 ? loadManifestCluster(cluster, loadManifests(sc.cluster.manifests)) : [];
  const ingress = sc.ingress.enabled
    ? setUpIngress(
        cluster,
        synthetic,
        sc.ingress,
        proxies.map((p) => p.name),
      )
    : null;

  // initial sync on every node at t = 0
  opts.onPhase?.('initial_sync');
  for (const p of proxies) for (const x of proxiersOf.get(p.name)!) x.start();
  sched.runUntil(0);
  rec.initial(...proxiersOf.get(proxies[0]!.name)!.map((x) => x.backend.size()));
  const t0 = Math.max(...[...proxiersOf.values()].flat().map((p) => p.readyAt));
  sched.runUntil(t0);

  return Object.assign(world, {
    c,
    kind,
    sc,
    sched,
    rng,
    cluster,
    def,
    cost,
    rec,
    hops: new HopRecorder(),
    proxies,
    proxiersOf,
    deployments,
    synthetic,
    manifestServices,
    ingress,
    t0,
    end: t0 + sc.duration,
  });
}
