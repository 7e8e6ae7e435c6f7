/**
 * The ipsets of kube-proxy's IPVS mode (pkg/proxy/ipvs/ipset.go, pkg/proxy/ipvs/ipset/ipset.go) as real sets with
 * membership tests, and their `ipset save` text.
 *
 * Facts used:
 * - names, types and comments: pkg/proxy/ipvs/ipset.go (ipsetInfo);
 * - sets are created with `ipset create NAME TYPE family inet hashsize 1024 maxelem 65536 -exist` (hash types)
 *   or `range 0-65535` (bitmap:port); the comment is NOT a create option (so entries carry no comments);
 * - entries are the strings of Entry.String(): `IP,proto:port`, `IP,proto:port,IP2`, `IP,proto:port,CIDR`,
 *   `port` (bitmap:port), `IP` (hash:ip); each add/del is one `ipset add|del` command (exec per entry).
 * - `ipset save` of ipset 7.x prints `bucketsize 12 initval 0x%08x` on hash sets. The kernel draws initval at
 *   random when the set is created; here it is derived from the set name (sha256) so output is reproducible,
 *   and the hash table size is emulated exactly (jhash2 with that initval, 12 entries a bucket, grow by doubling).
 * - entries are printed in `ipset save -sorted` order (address, then protocol number, then port, then the
 *   second address / network), measured with ipset v7.17.
 * - the IPv6 proxier's sets (NewIPSet with isIPv6): family inet6, and the name's "KUBE-" prefix becomes "KUBE-6-",
 *   cut to ipset's 31 characters (KUBE-6-LOAD-BALANCER-SOURCE-CID); their elements are struct hash_*6_elem (each
 *   address four words), and an IPv6 address prints as inet_ntop prints it.
 */
import { createHash } from 'node:crypto';
import { ipv4ToUint, maskOf } from '../../net/ipv4.js';
import { ipv6Words } from '../../net/ip.js';
import type { Protocol } from '../../types.js';
import { PROTO_NUM } from './kernel.js';
import { bswap32, jhash2 } from '../../net/jhash.js';

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

/** The address family of a hash set: `family inet` (the IPv4 proxier) or `family inet6` (the IPv6 one). */
export type IpsetFamily = 'inet' | 'inet6';

/** The kernel name of one of kube-proxy's sets for a family (pkg/proxy/ipvs/ipset.go NewIPSet). */
export function ipsetName(name: string, family: IpsetFamily): string {
  if (family === 'inet' || !name.startsWith('KUBE-')) return name;
  return `KUBE-6-${name.slice('KUBE-'.length)}`.slice(0, 31);
}

export interface IpsetInfo {
  name: string;
  type: IpsetType;
  comment: string;
}

/** ipsetInfo of pkg/proxy/ipvs/proxier.go, in its order. */
export const IPSET_INFO: readonly IpsetInfo[] = [
  { name: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { name: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { name: 'KUBE-EXTERNAL-IP', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  {
    name: 'KUBE-EXTERNAL-IP-LOCAL',
    type: 'hash:ip,port',
    comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local',
  },
  { name: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  {
    name: 'KUBE-LOAD-BALANCER-FW',
    type: 'hash:ip,port',
    comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange',
  },
  {
    name: 'KUBE-LOAD-BALANCER-LOCAL',
    type: 'hash:ip,port',
    comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local',
  },
  {
    name: 'KUBE-LOAD-BALANCER-SOURCE-IP',
    type: 'hash:ip,port,ip',
    comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
  },
  {
    name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
    type: 'hash:ip,port,net',
    comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  },
  { name: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { name: 'KUBE-NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { name: 'KUBE-NODE-PORT-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { name: 'KUBE-NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  {
    name: 'KUBE-NODE-PORT-SCTP-HASH',
    type: 'hash:ip,port',
    comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
    type: 'hash:ip,port',
    comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  },
  { name: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { name: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

export const SET = {
  loopBack: 'KUBE-LOOP-BACK',
  clusterIP: 'KUBE-CLUSTER-IP',
  externalIP: 'KUBE-EXTERNAL-IP',
  externalIPLocal: 'KUBE-EXTERNAL-IP-LOCAL',
  loadBalancer: 'KUBE-LOAD-BALANCER',
  loadBalancerFW: 'KUBE-LOAD-BALANCER-FW',
  loadBalancerLocal: 'KUBE-LOAD-BALANCER-LOCAL',
  loadBalancerSourceIP: 'KUBE-LOAD-BALANCER-SOURCE-IP',
  loadBalancerSourceCIDR: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
  nodePortTCP: 'KUBE-NODE-PORT-TCP',
  nodePortLocalTCP: 'KUBE-NODE-PORT-LOCAL-TCP',
  nodePortUDP: 'KUBE-NODE-PORT-UDP',
  nodePortLocalUDP: 'KUBE-NODE-PORT-LOCAL-UDP',
  nodePortSCTP: 'KUBE-NODE-PORT-SCTP-HASH',
  nodePortLocalSCTP: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
  healthCheckNodePort: 'KUBE-HEALTH-CHECK-NODE-PORT',
  ipvsIPs: 'KUBE-IPVS-IPS',
} as const;

const MAX_ELEM = 65536;
/** AHASH_MAX_SIZE (6 * AHASH_INIT_SIZE): entries one bucket holds before the table is doubled. */
const BUCKET_SIZE = 12;

const PROTO_BY_NAME: Record<string, number> = { tcp: PROTO_NUM.TCP, udp: PROTO_NUM.UDP, sctp: PROTO_NUM.SCTP };
const PROTO_IDX_BY_NUM: Record<number, number> = { 6: 0, 17: 1, 132: 2 };
const PROTO_IDX: Record<Protocol, number> = { TCP: 0, UDP: 1, SCTP: 2 };

/** Exact numeric key of (address, protocol, port): addr * 2^18 + protocol index * 2^16 + port < 2^50. */
function ippKey(ipInt: number, protoIdx: number, port: number): number {
  return ipInt * 262144 + protoIdx * 65536 + port;
}

/** The `__be16 port; u8 proto; u8 padding` word of the element structs, read little-endian as jhash2 does on x86. */
function portProtoWord(port: number, proto: number, last = 0): number {
  return ((port >>> 8) | ((port & 0xff) << 8) | (proto << 16) | (last << 24)) >>> 0;
}

/** A parsed entry: what the kernel stores, what `-sorted` orders by, and the words it hashes. */
interface Parsed {
  ip: number;
  proto: number;
  port: number;
  ip2: number;
  cidr: number;
  /** The entry as `ipset save` prints it. */
  text: string;
}

function parseEntry(type: IpsetType, entry: string): Parsed {
  if (type === 'bitmap:port') {
    const port = Number(entry);
    return { ip: 0, proto: 0, port, ip2: 0, cidr: 0, text: String(port) };
  }
  if (type === 'hash:ip') {
    const ip = ipv4ToUint(entry);
    return { ip, proto: 0, port: 0, ip2: 0, cidr: 0, text: entry };
  }
  const [ipS, pp, third] = entry.split(',');
  const [protoS, portS] = pp!.split(':');
  const ip = ipv4ToUint(ipS!);
  const proto = PROTO_BY_NAME[protoS!]!;
  const port = Number(portS);
  let ip2 = 0;
  let cidr = 32;
  let thirdText = '';
  if (type === 'hash:ip,port,ip') {
    ip2 = ipv4ToUint(third!);
    thirdText = `,${third}`;
  } else if (type === 'hash:ip,port,net') {
    const [netS, bitsS] = third!.split('/');
    cidr = bitsS === undefined ? 32 : Number(bitsS);
    ip2 = (ipv4ToUint(netS!) & maskOf(cidr)) >>> 0;
    const a = `${ip2 >>> 24}.${(ip2 >>> 16) & 255}.${(ip2 >>> 8) & 255}.${ip2 & 255}`;
    thirdText = cidr === 32 ? `,${a}` : `,${a}/${cidr}`;
  }
  return { ip, proto, port, ip2, cidr, text: `${ipS},${protoS}:${port}${thirdText}` };
}

/** An IPv6 entry: addresses as four unsigned words each (network order), as struct hash_*6_elem holds them. */
interface Parsed6 {
  w: number[];
  proto: number;
  port: number;
  w2: number[];
  cidr: number;
  text: string;
}

function words6(s: string, cidr = 128): { w: number[]; text: string } {
  const p = ipv6Words(`${s}/${cidr}`);
  if (p === null) throw new RangeError(`not an IPv6 address: ${s}`);
  const w = [...p.words].map((x) => x >>> 0);
  const bytes = w.flatMap((x) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]);
  return { w, text: formatV6(bytes) };
}

function formatV6(bytes: number[]): string {
  // inet_ntop: RFC 5952 (the longest run of two or more zero groups as "::", lower case)
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, best).map((g) => g.toString(16));
  const tail = groups.slice(best + bestLen).map((g) => g.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}

function parseEntry6(type: IpsetType, entry: string): Parsed6 {
  if (type === 'hash:ip') {
    const a = words6(entry);
    return { w: a.w, proto: 0, port: 0, w2: [0, 0, 0, 0], cidr: 0, text: a.text };
  }
  const [ipS, pp, third] = entry.split(',');
  const [protoS, portS] = pp!.split(':');
  const a = words6(ipS!);
  const proto = PROTO_BY_NAME[protoS!]!;
  const port = Number(portS);
  let w2 = [0, 0, 0, 0];
  let cidr = 128;
  let thirdText = '';
  if (type === 'hash:ip,port,ip') {
    const b = words6(third!);
    w2 = b.w;
    thirdText = `,${b.text}`;
  } else if (type === 'hash:ip,port,net') {
    const [netS, bitsS] = third!.split('/');
    cidr = bitsS === undefined ? 128 : Number(bitsS);
    const b = words6(netS!, cidr);
    w2 = b.w;
    thirdText = cidr === 128 ? `,${b.text}` : `,${b.text}/${cidr}`;
  }
  return { w: a.w, proto, port, w2, cidr, text: `${a.text},${protoS}:${port}${thirdText}` };
}

/** The words the kernel hashes for an IPv6 element (struct hash_*6_elem, each address four words). */
function elemWords6(type: IpsetType, p: Parsed6): number[] {
  const a = p.w.map(bswap32);
  const b = p.w2.map(bswap32);
  switch (type) {
    case 'hash:ip':
      return a;
    case 'hash:ip,port':
      return [...a, portProtoWord(p.port, p.proto)];
    case 'hash:ip,port,ip':
      return [...a, ...b, portProtoWord(p.port, p.proto)];
    case 'hash:ip,port,net':
      return [...a, ...b, ((p.port >>> 8) | ((p.port & 0xff) << 8) | ((p.cidr - 1) << 16) | (p.proto << 24)) >>> 0];
    case 'bitmap:port':
      return [];
  }
}

/**
 * `ipset save -sorted` order of an inet6 set, as ipset 7.17 sorts (found by loading random entries of every type
 * kube-proxy uses and reading them back, test/ipvs-ipv6.test.ts): the printed entry is cut at ':' and ',' and the
 * pieces compared in turn, an empty piece (of "::") first, then hexadecimal numbers by value (a "net/cidr" piece
 * by value, then prefix), then protocols by number, then "/cidr" pieces by prefix; a shorter entry first. So the
 * order is not the addresses' numeric order: fd00::1:0 sorts after fd00::1, and fd00::a:14,tcp:80 before
 * fd00::a,tcp:80.
 */
type SortPiece = [number, number, number];

function sortKey6(text: string): SortPiece[] {
  return text.split(/[:,]/).map((t): SortPiece => {
    if (t === '') return [-1, 0, 0];
    const proto = PROTO_BY_NAME[t];
    if (proto !== undefined) return [1, proto, 0];
    if (t.startsWith('/')) return [2, Number(t.slice(1)), 0];
    const slash = t.indexOf('/');
    if (slash >= 0) return [0, parseInt(t.slice(0, slash), 16), Number(t.slice(slash + 1))];
    return [0, parseInt(t, 16), -1];
  });
}

function compareSortKeys(a: readonly SortPiece[], b: readonly SortPiece[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const d = x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The words the kernel hashes (struct hash_*4_elem). */
function elemWords(type: IpsetType, p: Parsed): number[] {
  switch (type) {
    case 'hash:ip':
      return [bswap32(p.ip)];
    case 'hash:ip,port':
      return [bswap32(p.ip), portProtoWord(p.port, p.proto)];
    case 'hash:ip,port,ip':
      return [bswap32(p.ip), bswap32(p.ip2), portProtoWord(p.port, p.proto)];
    case 'hash:ip,port,net':
      // struct hash_ipportnet4_elem { ip; ip2; port; u8 cidr:7 (stored as cidr - 1); u8 nomatch:1; u8 proto; }
      return [bswap32(p.ip), bswap32(p.ip2), ((p.port >>> 8) | ((p.port & 0xff) << 8) | ((p.cidr - 1) << 16) | (p.proto << 24)) >>> 0];
    case 'bitmap:port':
      return [];
  }
}

function comparePorts(a: Parsed, b: Parsed): number {
  return a.ip - b.ip || a.proto - b.proto || a.port - b.port || a.ip2 - b.ip2 || a.cidr - b.cidr;
}

/** One ipset with kube-proxy's reference counting of entries (several services may want the same entry). */
export class Ipset {
  readonly initval: number;
  /** entry -> number of service ports that want it */
  private readonly refs = new Map<string, number>();
  /** Membership for exact-match types (the entries themselves). */
  private readonly members = new Set<string>();
  /** Numeric membership: hash:ip (address) and hash:ip,port (ippKey). */
  private readonly num = new Set<number>();
  /** hash:ip,port,ip: ippKey -> second addresses. */
  private readonly second = new Map<number, Set<number>>();
  /** hash:ip,port,net: ippKey -> networks [base, bits]. */
  private readonly nets = new Map<number, [number, number][]>();
  /** bitmap:port membership (null for the hash types). */
  private readonly bitmap: Set<number> | null;
  /** Hash-table emulation: jhash2 of each entry, and entries per bucket. */
  private readonly hashes = new Map<string, number>();
  /** hashsize 1024 at creation (kube-proxy's default) = 2^10 buckets. */
  private htableBits = 10;
  private bucketCounts: Uint16Array | null;
  /**
   * Entries wanted (referenced) but not in the kernel set because it was full (maxelem 65536: the kernel answers
   * "Hash is full"). kube-proxy logs "Failed to add entry to ip set" and goes on (pkg/proxy/ipvs/ipset.go,
   * syncIPSetEntries); every later sync finds them missing from `ipset list` and tries again.
   */
  private readonly missing = new Set<string>();
  /** Failed kernel adds so far (each sync's retries included). */
  addErrors = 0;

  /** The set's name in the kernel (KUBE-6-... for the IPv6 proxier's sets). */
  readonly name: string;

  constructor(
    readonly info: IpsetInfo,
    initval?: number,
    readonly family: IpsetFamily = 'inet',
  ) {
    this.name = ipsetName(info.name, family);
    this.initval = initval ?? createHash('sha256').update(this.name).digest().readUInt32BE(0);
    this.bitmap = info.type === 'bitmap:port' ? new Set<number>() : null;
    this.bucketCounts = info.type === 'bitmap:port' ? null : new Uint16Array(1 << this.htableBits);
  }

  get size(): number {
    return this.members.size;
  }

  isEmpty(): boolean {
    return this.members.size === 0;
  }

  /** Current hash size (1 << htable_bits), as `ipset list` / `save` print it. */
  get hashsize(): number {
    return 1 << this.htableBits;
  }

  /** Takes a reference on an entry; returns true when the entry had to be added to the kernel set. */
  ref(entry: string): boolean {
    const n = this.refs.get(entry) ?? 0;
    this.refs.set(entry, n + 1);
    if (n > 0) return false;
    this.kernelAdd(entry);
    return true;
  }

  /** Drops a reference; returns true when the entry had to be deleted from the kernel set. */
  unref(entry: string): boolean {
    const n = this.refs.get(entry);
    if (n === undefined) return false;
    if (n > 1) {
      this.refs.set(entry, n - 1);
      return false;
    }
    this.refs.delete(entry);
    this.kernelDel(entry);
    return true;
  }

  has(entry: string): boolean {
    return this.members.has(entry);
  }

  /** Retries the entries a full set refused (as each kube-proxy sync does); returns how many got in. */
  retryMissing(): number {
    let added = 0;
    for (const e of [...this.missing]) if (this.kernelAdd(e)) added++;
    return added;
  }

  /** Entries wanted but not in the kernel set (it was full). */
  get missingCount(): number {
    return this.missing.size;
  }

  /** Adds an entry to the kernel set; false (and counted) when the set is full. */
  private kernelAdd(entry: string): boolean {
    if (this.members.has(entry)) return true;
    if (this.members.size >= MAX_ELEM && this.bitmap === null) {
      this.addErrors++;
      this.missing.add(entry);
      return false;
    }
    this.missing.delete(entry);
    this.members.add(entry);
    const t = this.info.type;
    if (this.bitmap !== null) {
      this.bitmap.add(Number(entry));
      return true;
    }
    let h: number;
    if (this.family === 'inet6') h = jhash2(elemWords6(t, parseEntry6(t, entry)), this.initval);
    else {
      const p = parseEntry(t, entry);
      this.indexAdd(p);
      h = jhash2(elemWords(t, p), this.initval);
    }
    this.emulateAdd(h);
    this.hashes.set(entry, h);
    return true;
  }

  private kernelDel(entry: string): void {
    this.missing.delete(entry);
    if (!this.members.delete(entry)) return;
    if (this.bitmap !== null) {
      this.bitmap.delete(Number(entry));
      return;
    }
    if (this.family === 'inet') this.indexDel(parseEntry(this.info.type, entry));
    const h = this.hashes.get(entry)!;
    this.hashes.delete(entry);
    this.bucketCounts![h & ((1 << this.htableBits) - 1)]!--;
  }

  private indexAdd(p: Parsed): void {
    const t = this.info.type;
    if (t === 'hash:ip') {
      this.num.add(p.ip);
      return;
    }
    const k = ippKey(p.ip, PROTO_IDX_BY_NUM[p.proto]!, p.port);
    if (t === 'hash:ip,port') this.num.add(k);
    else if (t === 'hash:ip,port,ip') {
      let s2 = this.second.get(k);
      if (s2 === undefined) this.second.set(k, (s2 = new Set()));
      s2.add(p.ip2);
    } else {
      let l = this.nets.get(k);
      if (l === undefined) this.nets.set(k, (l = []));
      l.push([p.ip2, p.cidr]);
    }
  }

  private indexDel(p: Parsed): void {
    const t = this.info.type;
    if (t === 'hash:ip') {
      this.num.delete(p.ip);
      return;
    }
    const k = ippKey(p.ip, PROTO_IDX_BY_NUM[p.proto]!, p.port);
    if (t === 'hash:ip,port') this.num.delete(k);
    else if (t === 'hash:ip,port,ip') {
      const s2 = this.second.get(k);
      s2?.delete(p.ip2);
      if (s2 !== undefined && s2.size === 0) this.second.delete(k);
    } else {
      const l = this.nets.get(k);
      if (l !== undefined) {
        const i = l.findIndex(([b, c]) => b === p.ip2 && c === p.cidr);
        if (i >= 0) l.splice(i, 1);
        if (l.length === 0) this.nets.delete(k);
      }
    }
  }

  /** mtype_add: a full bucket (12 entries) makes the kernel double the table (and again while any bucket overflows). */
  private emulateAdd(h: number): void {
    for (;;) {
      const counts = this.bucketCounts!;
      const b = h & ((1 << this.htableBits) - 1);
      if (counts[b]! < BUCKET_SIZE) {
        counts[b]!++;
        return;
      }
      // resize: rehash every other entry into a table twice as large, retrying while a bucket overflows
      for (;;) {
        this.htableBits++;
        const next = new Uint16Array(1 << this.htableBits);
        const mask = (1 << this.htableBits) - 1;
        let ok = true;
        for (const eh of this.hashes.values()) {
          const nb = eh & mask;
          if (next[nb]! >= BUCKET_SIZE) {
            ok = false;
            break;
          }
          next[nb]!++;
        }
        if (ok) {
          this.bucketCounts = next;
          break;
        }
      }
    }
  }

  /** Entries in `ipset save -sorted` order, as printed. */
  sortedEntries(): string[] {
    const t = this.info.type;
    if (this.bitmap !== null)
      return [...this.members]
        .map(Number)
        .sort((a, b) => a - b)
        .map(String);
    if (this.family === 'inet6')
      return [...this.members]
        .map((e) => {
          const text = parseEntry6(t, e).text;
          return { text, key: sortKey6(text) };
        })
        .sort((a, b) => compareSortKeys(a.key, b.key))
        .map((p) => p.text);
    return [...this.members]
      .map((e) => parseEntry(t, e))
      .sort(comparePorts)
      .map((p) => p.text);
  }

  /** The set's lines in `ipset save` output. */
  save(): string {
    const t = this.info.type;
    let create = `create ${this.name} ${t}`;
    if (t === 'bitmap:port') create += ' range 0-65535';
    else
      create += ` family ${this.family} hashsize ${this.hashsize} maxelem ${MAX_ELEM} bucketsize ${BUCKET_SIZE} initval 0x${this.initval.toString(16).padStart(8, '0')}`;
    const lines = [create];
    for (const e of this.sortedEntries()) lines.push(`add ${this.name} ${e}`);
    return lines.join('\n') + '\n';
  }

  // ---- membership tests, as the iptables set match does them ----

  /** `dst` on bitmap:port */
  testPort(port: number): boolean {
    return this.bitmap !== null && this.bitmap.has(port);
  }

  /** `dst` (or `src`) on hash:ip */
  testIp(ipInt: number): boolean {
    return this.num.has(ipInt);
  }

  /** `dst,dst` on hash:ip,port */
  testIpPort(ipInt: number, proto: Protocol, port: number): boolean {
    return this.num.has(ippKey(ipInt, PROTO_IDX[proto], port));
  }

  /** `dst,dst,src` on hash:ip,port,ip */
  testIpPortIp(ipInt: number, proto: Protocol, port: number, ip2Int: number): boolean {
    return this.second.get(ippKey(ipInt, PROTO_IDX[proto], port))?.has(ip2Int) ?? false;
  }

  /** `dst,dst,src` on hash:ip,port,net */
  testIpPortNet(ipInt: number, proto: Protocol, port: number, srcInt: number): boolean {
    const l = this.nets.get(ippKey(ipInt, PROTO_IDX[proto], port));
    if (l === undefined) return false;
    for (const [base, bits] of l) if ((srcInt & maskOf(bits)) >>> 0 === base) return true;
    return false;
  }
}

/**
 * All kube-proxy ipsets, in ipsetInfo order, keyed by their IPv4 names (SET.*); get() also takes the kernel name.
 * The IPv6 proxier's store holds the inet6 sets (membership tests are modelled for the IPv4 sets only).
 */
export class IpsetStore {
  readonly sets = new Map<string, Ipset>();
  private readonly byKernelName = new Map<string, Ipset>();
  constructor(readonly family: IpsetFamily = 'inet') {
    for (const info of IPSET_INFO) {
      const set = new Ipset(info, undefined, family);
      this.sets.set(info.name, set);
      this.byKernelName.set(set.name, set);
    }
  }
  /** The kernel name of a set, by its SET.* name. */
  nameOf(name: string): string {
    return this.get(name).name;
  }
  get(name: string): Ipset {
    const s = this.sets.get(name) ?? this.byKernelName.get(name);
    if (s === undefined) throw new Error(`no ipset ${name}`);
    return s;
  }
  /** Failed kernel adds over every set so far. */
  addErrors(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.addErrors;
    return n;
  }
  /** Every set's retry of the entries it refused when full (kube-proxy's syncIPSetEntries, every sync). */
  retryMissing(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.retryMissing();
    return n;
  }
  totalEntries(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.size;
    return n;
  }
  /** `ipset save` (sets in creation order, entries sorted). */
  save(): string {
    let out = '';
    for (const s of this.sets.values()) out += s.save();
    return out;
  }
}

export { jhash2 };
