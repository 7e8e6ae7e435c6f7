import type { Packet, Protocol, Seconds } from '../types.js';

export interface ConntrackEntry {
  endpoint: { ip: string; port: number } | null;
  serviceKey: string;
  protocol: Protocol;
  /** When the entry expires if not closed before. */
  expires: Seconds;
}

/**
 * The connection-tracking table: the first packet of a connection is classified by the data plane; later packets
 * of the same 5-tuple hit this table and never walk the rules.
 */
export class Conntrack {
  private readonly table = new Map<string, ConntrackEntry>();
  hits = 0;
  misses = 0;
  peak = 0;

  static key(p: Packet): string {
    return `${p.protocol}|${p.srcIP}|${p.srcPort}|${p.dstIP}|${p.dstPort}`;
  }

  get size(): number {
    return this.table.size;
  }

  get(p: Packet, now: Seconds): ConntrackEntry | undefined {
    const k = Conntrack.key(p);
    const e = this.table.get(k);
    if (e !== undefined && e.expires <= now) {
      this.table.delete(k);
      this.misses++;
      return undefined;
    }
    if (e === undefined) this.misses++;
    else this.hits++;
    return e;
  }

  add(p: Packet, e: ConntrackEntry): void {
    this.table.set(Conntrack.key(p), e);
    if (this.table.size > this.peak) this.peak = this.table.size;
  }

  delete(p: Packet): ConntrackEntry | undefined {
    const k = Conntrack.key(p);
    const e = this.table.get(k);
    this.table.delete(k);
    return e;
  }

  /** Removes entries whose endpoint is `ip` (kube-proxy clears UDP conntrack entries of removed endpoints). */
  deleteByEndpoint(ip: string, protocol: Protocol): number {
    let n = 0;
    for (const [k, e] of this.table) {
      if (e.protocol === protocol && e.endpoint?.ip === ip) {
        this.table.delete(k);
        n++;
      }
    }
    return n;
  }
}
