/**
 * What every data plane's kernel plan shares: the one-endpoint change, the services probed, the client address.
 * The plans themselves live in each backend's kernel-mode.ts (its definition's `kernel`):
 * - iptables (both flavours, one ruleset): the full load is the whole rendered ruleset (`iptables-save` form,
 *   jump rules included) in one flush-mode restore, nfacct counters created first as kube-proxy does over netlink;
 *   partial syncs: kube-proxy's exact `iptables-restore --noflush --counters` input (`lastRestoreInput()`) after
 *   one endpoint of one service is replaced, and after it is put back.
 * - IPVS mode: `ipset restore` of its sets (full); one `ipset add`/`ipset del` process per changed entry
 *   (kube-proxy's ipset util runs one per entry). `ipvsadm -R` only where the kernel has IPVS.
 * - a data plane loaded by transactions (nftables' `nft -f -`): `transactionSupport` (transactions.ts).
 */
import type { EndpointInfo, ProxySnapshot, Rng } from '../types.js';
import type { ProbeTarget } from './plan.js';

/** The address a replaced endpoint gets (TEST-NET-2 style benchmarking range, never a real pod's). */
export const REPLACEMENT_IP = '198.19.255.254';

/** The client's address in the client namespace (outside the cluster CIDR, so it is masqueraded as outside traffic). */
export const CLIENT_IP = '198.18.0.2';

/** The packet walk's random choices for the counted first packets (any endpoint walks the same rules). */
export const ZERO_RNG: Rng = { next: () => 0 };

/** The snapshot with endpoint 0 of service port `key` at another address (a pod replaced by its Deployment). */
export function replaceOneEndpoint(s: ProxySnapshot, key: string, ip = REPLACEMENT_IP): ProxySnapshot {
  const eps = s.endpoints.get(key) ?? [];
  if (eps.length === 0) throw new Error(`service port ${key} has no endpoint to replace`);
  const next: EndpointInfo[] = [{ ...eps[0]!, ip }, ...eps.slice(1)];
  next.sort((a, b) => {
    const x = `${a.ip}:${a.port}`;
    const y = `${b.ip}:${b.port}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const endpoints = new Map(s.endpoints);
  endpoints.set(key, next);
  return { services: s.services, endpoints };
}

/** First, median and last of the service ports (in `order`) that have a cluster IP and endpoints. */
export function probeTargets(s: ProxySnapshot, order: readonly string[]): ProbeTarget[] {
  const usable = order.filter((k) => {
    const svc = s.services.get(k);
    const eps = s.endpoints.get(k) ?? [];
    return svc !== undefined && svc.clusterIP !== '' && svc.clusterIP !== 'None' && svc.protocol !== 'SCTP' && eps.some((e) => e.ready);
  });
  if (usable.length === 0) return [];
  const picks: Array<[string, number]> = [
    ['first', 0],
    ['median', Math.floor((usable.length - 1) / 2)],
    ['last', usable.length - 1],
  ];
  return picks.map(([position, i]) => {
    const key = usable[i]!;
    const svc = s.services.get(key)!;
    return {
      position,
      index: order.indexOf(key),
      key,
      vip: svc.clusterIP,
      port: svc.port,
      protocol: svc.protocol as 'TCP' | 'UDP',
      endpoints: (s.endpoints.get(key) ?? []).filter((e) => e.ready).map((e) => ({ ip: e.ip, port: e.port })),
    };
  });
}

/** The service port whose endpoint the partial syncs replace: just before the median, so no probed service changes. */
export function changedServiceKey(s: ProxySnapshot, order: readonly string[]): string | null {
  const withEps = order.filter((k) => (s.endpoints.get(k) ?? []).length > 0);
  if (withEps.length === 0) return null;
  const mid = Math.floor((withEps.length - 1) / 2);
  return withEps[Math.max(0, mid - 1)]!;
}

/** Every service port of the snapshot, as changed (the initial sync). */
export function allKeys(s: ProxySnapshot): Set<string> {
  return new Set(s.services.keys());
}
