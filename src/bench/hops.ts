/**
 * Per-hop classification of ingress traffic (scenario `ingress.enabled`): a request from outside reaches the
 * ingress controller's NodePort on a node (hop "nodeport": that node's kube-proxy rules pick an ingress pod),
 * and the ingress pod then opens a connection to the routed service's ClusterIP (hop "service": the rules of
 * the node the ingress pod runs on pick the application pod). Each hop is classified by the backend of the node
 * it passes; this records, per hop, what the classification decided and what it cost, so the report can show
 * the two hops side by side (rows `ingress_<hop>_hop_*`, catalogued in src/metrics/catalogue.ts).
 */
import type { ConnectionRecord } from '../proxy/kubeproxy.js';
import { canonical, summarize } from '../metrics/stats.js';
import type { MetricRow } from '../types.js';

export const INGRESS_HOPS = ['nodeport', 'service'] as const;
export type IngressHop = (typeof INGRESS_HOPS)[number];

type RowKey = Pick<MetricRow, 'scenario' | 'backend' | 'services' | 'endpoints_per_service'>;

interface HopTally {
  times: number[];
  dnat: number;
  refused: number;
  stale: number;
}

export class HopRecorder {
  private readonly hops = new Map<IngressHop, HopTally>(INGRESS_HOPS.map((h) => [h, { times: [], dnat: 0, refused: 0, stale: 0 }]));

  /** One connection's classification at hop `hop`. */
  hop(hop: IngressHop, c: ConnectionRecord): void {
    const t = this.hops.get(hop)!;
    t.times.push(c.modelled);
    if (c.lookup.verdict === 'DNAT') t.dnat++;
    else if (c.lookup.verdict === 'REJECT' || c.lookup.verdict === 'DROP') t.refused++;
    if (c.stale) t.stale++;
  }

  /** Rows per hop (none when no ingress connection was recorded). */
  rows(key: RowKey): MetricRow[] {
    const out: MetricRow[] = [];
    for (const [hop, t] of this.hops) {
      if (t.times.length === 0) continue;
      const m = (name: string): string => `ingress_${hop}_hop_${name}`;
      for (const [stat, v] of summarize(t.times, ['mean', 'p99']))
        out.push({ ...key, metric: m('time'), statistic: stat, value: canonical(v), unit: 's' });
      out.push({ ...key, metric: m('connections'), statistic: 'total', value: t.times.length, unit: 'connections' });
      out.push({ ...key, metric: m('dnat'), statistic: 'total', value: t.dnat, unit: 'connections' });
      out.push({ ...key, metric: m('refused'), statistic: 'total', value: t.refused, unit: 'connections' });
      out.push({ ...key, metric: m('stale'), statistic: 'total', value: t.stale, unit: 'connections' });
    }
    return out;
  }
}
