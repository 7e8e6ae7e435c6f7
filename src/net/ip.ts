/**
 * Addresses as kube-proxy reads them: k8s.io/utils/net ParseIPSloppy / ParseCIDRSloppy, which keep Go's pre-1.17
 * parser (an IPv4 octet is any run of decimal digits whose value is at most 255, so leading zeros are allowed:
 * `172.30.0.041` is 172.30.0.41, not octal), and the canonical text Go's net.IP / net.IPNet String() prints
 * (dotted quad; RFC 5952 IPv6: lower case, the first longest run of two or more zero groups as `::`, an
 * IPv4-mapped address printed as IPv4; a CIDR as its masked network). kube-proxy writes rules from the parsed
 * values, so a Service with `clusterIP: 172.30.0.041` gets `-d 172.30.0.41` (upstream's TestBadIPs).
 */

export type IPFamily = 'IPv4' | 'IPv6';

export interface ParsedIP {
  family: IPFamily;
  /** Canonical text (Go's net.IP String()). */
  text: string;
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  bytes: number[];
}

export interface ParsedCIDR {
  family: IPFamily;
  /** Canonical network text (Go's net.IPNet String()): masked address and prefix. */
  text: string;
  /** Canonical text of the address as written (not masked). */
  ipText: string;
  prefix: number;
}

/** Go 1.16 parseIPv4: four decimal fields of any length with value <= 255. */
function parseV4Bytes(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]+$/.test(p)) return null;
    // dtoi stops at 0xFFFFFF; the value must be an octet
    const v = p.replace(/^0+(?=\d)/, '');
    if (v.length > 3 || Number(v) > 255) return null;
    out.push(Number(v));
  }
  return out;
}

/** Go 1.16 parseIPv6 (with a sloppy IPv4 tail). */
function parseV6Bytes(s: string): number[] | null {
  if (s.length === 0) return null;
  const bytes: number[] = new Array<number>(16).fill(0);
  let ellipsis = -1;
  let rest = s;
  if (rest.startsWith('::')) {
    ellipsis = 0;
    rest = rest.slice(2);
    if (rest === '') return bytes;
  }
  let i = 0;
  while (i < 16) {
    const m = /^[0-9a-fA-F]{1,4}/.exec(rest);
    if (m === null) return null;
    // an IPv4 tail
    if (rest.length > m[0].length && rest[m[0].length] === '.') {
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      const v4 = parseV4Bytes(rest);
      if (v4 === null) return null;
      bytes.splice(i, 4, ...v4);
      i += 4;
      rest = '';
      break;
    }
    const n = parseInt(m[0], 16);
    bytes[i] = n >> 8;
    bytes[i + 1] = n & 255;
    i += 2;
    rest = rest.slice(m[0].length);
    if (rest === '') break;
    if (rest[0] !== ':' || rest.length === 1) return null;
    rest = rest.slice(1);
    if (rest[0] === ':') {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      rest = rest.slice(1);
      if (rest === '') break;
    }
  }
  if (rest !== '') return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    const tail = bytes.slice(ellipsis, i);
    for (let j = ellipsis; j < 16; j++) bytes[j] = 0;
    tail.forEach((b, k) => (bytes[ellipsis + n + k] = b));
  } else if (ellipsis >= 0) return null;
  return bytes;
}

function isV4Mapped(b: number[]): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 255 && b[11] === 255;
}

/** Go's net.IP String() for 16 bytes (an IPv4-mapped address prints as IPv4). */
export function formatIPv6Bytes(b: readonly number[]): string {
  if (isV4Mapped([...b])) return b.slice(12).join('.');
  let e0 = -1;
  let e1 = -1;
  for (let i = 0; i < 16; i += 2) {
    let j = i;
    while (j < 16 && b[j] === 0 && b[j + 1] === 0) j += 2;
    if (j > i && j - i > e1 - e0) {
      e0 = i;
      e1 = j;
      i = j;
    }
  }
  if (e1 - e0 <= 2) {
    e0 = -1;
    e1 = -1;
  }
  let out = '';
  for (let i = 0; i < 16; i += 2) {
    if (i === e0) {
      out += '::';
      i = e1;
      if (i >= 16) break;
    } else if (i > 0) out += ':';
    out += ((b[i]! << 8) | b[i + 1]!).toString(16);
  }
  return out;
}

/** ParseIPSloppy: null when `s` is not an address (no surrounding blanks, no zone). */
export function parseIPSloppy(s: string): ParsedIP | null {
  if (s.includes(':')) {
    const b = parseV6Bytes(s);
    if (b === null) return null;
    if (isV4Mapped(b)) return { family: 'IPv4', text: b.slice(12).join('.'), bytes: b.slice(12) };
    return { family: 'IPv6', text: formatIPv6Bytes(b), bytes: b };
  }
  const b = parseV4Bytes(s);
  return b === null ? null : { family: 'IPv4', text: b.join('.'), bytes: b };
}

/** ParseCIDRSloppy: null when `s` is not "address/prefix" (callers trim blanks first, as kube-proxy does). */
export function parseCIDRSloppy(s: string): ParsedCIDR | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const pfx = s.slice(slash + 1);
  const ip = parseIPSloppy(addr);
  if (ip === null || !/^[0-9]+$/.test(pfx)) return null;
  // an IPv4-mapped IPv6 CIDR keeps 128-bit prefix lengths in Go; not worth modelling: treat as written
  const bits = addr.includes(':') ? 128 : 32;
  const prefix = Number(pfx.replace(/^0+(?=\d)/, ''));
  if (pfx.replace(/^0+(?=\d)/, '').length > 3 || prefix > bits) return null;
  if (addr.includes(':') && ip.family === 'IPv4') return null;
  const masked = ip.bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  const net = ip.family === 'IPv4' ? masked.join('.') : formatIPv6Bytes(masked);
  return { family: ip.family, text: `${net}/${prefix}`, ipText: ip.text, prefix };
}

/** The family of an address or CIDR as kube-proxy parses it, or null. */
export function familyOf(s: string): IPFamily | null {
  const t = s.trim();
  return (t.includes('/') ? parseCIDRSloppy(t) : parseIPSloppy(t))?.family ?? null;
}

/** Whether `ip` lies in `cidr` (both texts as kube-proxy parses them; different families never match). */
export function cidrContainsIP(cidr: string, ip: string): boolean {
  const c = parseCIDRSloppy(cidr.trim());
  const a = parseIPSloppy(ip.trim());
  if (c === null || a === null || c.family !== a.family) return false;
  const net = parseIPSloppy(c.text.slice(0, c.text.indexOf('/')))!;
  for (let i = 0; i < a.bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, c.prefix - i * 8));
    const m = (0xff << (8 - keep)) & 0xff;
    if ((a.bytes[i]! & m) !== net.bytes[i]) return false;
  }
  return true;
}

/** Go's net.JoinHostPort: "10.0.0.1:80", "[fd00::1]:80" (kube-proxy's endpoint strings). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** An IPv6 address as four int32 words (network order), for the packet walk. */
export type Words6 = Int32Array;

/** The four int32 words of an IPv6 address or CIDR (masked); null when `s` is not IPv6. */
export function ipv6Words(s: string): { words: Words6; mask: Words6; prefix: number } | null {
  const t = s.trim();
  const slash = t.indexOf('/');
  const p = slash < 0 ? parseIPSloppy(t) : parseCIDRSloppy(t);
  if (p === null || p.family !== 'IPv6') return null;
  const prefix = slash < 0 ? 128 : (p as ParsedCIDR).prefix;
  const bytes = slash < 0 ? (p as ParsedIP).bytes : parseIPSloppy((p as ParsedCIDR).text.split('/')[0]!)!.bytes;
  const words = new Int32Array(4);
  const mask = new Int32Array(4);
  for (let i = 0; i < 4; i++) {
    words[i] = (bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!;
    const keep = Math.max(0, Math.min(32, prefix - 32 * i));
    mask[i] = keep === 0 ? 0 : (0xffffffff << (32 - keep)) | 0;
  }
  return { words, mask, prefix };
}

/** Whether `addr` (four words) lies in the network `net`/`mask`. */
export function words6Match(addr: Words6, net: Words6, mask: Words6): boolean {
  return (
    (addr[0]! & mask[0]!) === net[0] &&
    (addr[1]! & mask[1]!) === net[1] &&
    (addr[2]! & mask[2]!) === net[2] &&
    (addr[3]! & mask[3]!) === net[3]
  );
}
