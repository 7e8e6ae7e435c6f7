/**
 * Step 3 of a case: the load of the measured phase. Targets are the proxied services by popularity rank (a
 * seeded shuffle); connections arrive as a Poisson process from client pods on every simulated node (or through
 * the ingress controller), each first packet goes through the node's data plane, and the connection's requests
 * are checked against the pods' readiness.
 */
import type { Packet } from '../../types.js';
import { objectKey } from '../../cluster/selector.js';
import type { ConnectionRecord, KubeProxyNode } from '../../proxy/kubeproxy.js';
import { ZipfSampler } from '../../workload/popularity.js';
import type { Target } from '../target.js';
import type { CaseWorld } from './build.js';

/** The services the load can reach (first port, not headless, not SCTP), in popularity-rank order. */
export function loadTargets(w: CaseWorld): Target[] {
  const { cluster, rng } = w;
  const targets: Target[] = [];
  for (const key of [...w.synthetic.map((s) => objectKey(s.namespace, s.name)), ...w.manifestServices]) {
    const svc = cluster.services.get(key)!;
    const p = svc.ports[0];
    const v6 = svc.ipv6?.clusterIP ?? '';
    const hasV6 = v6 !== '' && v6 !== 'None';
    if (p === undefined || svc.clusterIP === 'None' || (svc.clusterIP === '' && !hasV6) || p.protocol === 'SCTP') continue;
    targets.push({
      key,
      // an IPv6-only service (dual-stack cluster, ipFamilies [IPv6]) has no IPv4 cluster IP
      ip: svc.clusterIP === '' ? v6 : svc.clusterIP,
      ...(hasV6 && svc.clusterIP !== '' ? { ipv6: v6 } : {}),
      port: p.port,
      protocol: p.protocol,
      path: `/${svc.name}`,
      host: `${svc.namespace}.example.com`,
    });
  }
  rng.stream('load.rank').shuffle(targets);
  return targets;
}

/** Schedules the connection arrivals from `t0` to `end`. */
export function startLoad(w: CaseWorld, targets: readonly Target[]): void {
  const { sc, sched, rng, cluster, proxies, ingress, rec, hops: hopRec, t0, end } = w;
  const load = sc.load;
  const rate = load.perServices > 0 ? (load.connectionsPerSecond * sc.cluster.services) / load.perServices : load.connectionsPerSecond;
  if (rate <= 0 || targets.length === 0) return;
  const arrivals = rng.stream('load.arrivals');
  const pick = rng.stream('load.popularity');
  const clients = rng.stream('load.clients');
  const zipf = new ZipfSampler(targets.length, load.zipf);
  const ingressRng = rng.stream('load.ingress');
  // client pods on each node: the last addresses of the node's /24 ("10.128.3." + 243..250)
  const clientPrefix = new Map(proxies.map((p) => [p.name, cluster.nodes.get(p.name)!.podCIDR.replace(/\d+\/\d+$/, '')]));
  // dual-stack: the same client pods' IPv6 addresses (the node's /64, "::f3".."::fa"), and which family a client of
  // a dual-stack service connects over (either, with equal odds: resolvers return both A and AAAA records)
  const clientPrefix6 = new Map(proxies.map((p) => [p.name, (cluster.nodes.get(p.name)!.podCIDRV6 ?? '').replace(/\/\d+$/, '')]));
  const familyPick = cluster.dualStack ? rng.stream('load.family') : null;
  const proxierFor = (node: KubeProxyNode, dstIP: string): KubeProxyNode => {
    if (!dstIP.includes(':')) return node;
    return w.proxiersOf.get(node.name)!.find((x) => x.family === 'IPv6')!;
  };
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
      const first: Packet = {
        srcIP: '198.51.100.7',
        srcPort: port,
        dstIP: cluster.nodes.get(entry.name)!.ips[0]!,
        dstPort: ingress.nodePort,
        protocol: 'TCP',
        local: false,
      };
      const c1 = entry.connect(first);
      rec.connection(c1, ingress.serviceKey);
      hopRec.hop('nodeport', c1);
      hops.push([entry, first, c1]);
      const ingressPod = c1.endpoint === null ? undefined : cluster.podWithIP(c1.endpoint.ip);
      const podNode = ingressPod === undefined ? undefined : proxies.find((p) => p.name === ingressPod.nodeName);
      const route = ingress.router.route(t.host, t.path);
      rec.ingress(route !== null);
      if (ingressPod !== undefined && podNode !== undefined && route !== null) {
        const second: Packet = {
          srcIP: ingressPod.ip,
          srcPort: port,
          dstIP: route.service.clusterIP,
          dstPort: route.port.port,
          protocol: route.port.protocol === 'UDP' ? 'UDP' : 'TCP',
          local: false,
        };
        const c2 = podNode.connect(second);
        rec.connection(c2, objectKey(route.service.namespace, route.service.name));
        hopRec.hop('service', c2);
        hops.push([podNode, second, c2]);
      } else routed = false;
    } else {
      const host = proxies[clients.int(proxies.length)]!;
      const dstIP = t.ipv6 !== undefined && familyPick!.next() < 0.5 ? t.ipv6 : t.ip;
      const node = proxierFor(host, dstIP);
      const clientHost = 250 - (srcPort % 8);
      const pkt: Packet = {
        srcIP: dstIP.includes(':')
          ? `${clientPrefix6.get(host.name)!.replace(/::$/, '')}::${clientHost.toString(16)}`
          : `${clientPrefix.get(host.name)!}${clientHost}`,
        srcPort: port,
        dstIP,
        dstPort: t.port,
        protocol: load.protocol,
        local: false,
      };
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
