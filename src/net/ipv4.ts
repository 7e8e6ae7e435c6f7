/**
 * IPv4 addresses as numbers, for the cluster model and every data plane. Addresses are signed 32-bit integers
 * (`x | 0`) so that masks and comparisons are plain int32 operations in the hot path; `>>> 0` gives the unsigned
 * value where an order or a key needs it.
 */

/** Parses a dotted quad; returns null when it is not a valid IPv4 address. */
export function parseIPv4(s: string): number | null {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (digits > 3 || part > 255) return null;
    } else if (c === 46) {
      if (digits === 0) return null;
      n = (n << 8) | part;
      part = 0;
      digits = 0;
      dots++;
      if (dots > 3) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return (n << 8) | part | 0;
}

export function formatIPv4(n: number): string {
  // joined: one flat string (a concatenation of 13+ characters is a rope of several objects; a million pod
  // addresses are kept)
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) | 0;
}

export interface Cidr4 {
  /** Network address (already masked), int32. */
  addr: number;
  mask: number;
  prefix: number;
  /** Canonical text, Go's net.IPNet String(): "203.0.113.0/25". */
  text: string;
}

/** Parses "a.b.c.d/n" (surrounding blanks ignored, as kube-proxy's ParseCIDRSloppy after trimming); null if invalid. */
export function parseCidr4(s: string): Cidr4 | null {
  const t = s.trim();
  const slash = t.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIPv4(t.slice(0, slash));
  const pfx = t.slice(slash + 1);
  if (ip === null || !/^\d{1,2}$/.test(pfx)) return null;
  const prefix = Number(pfx);
  if (prefix > 32) return null;
  const mask = maskOf(prefix);
  const addr = ip & mask;
  return { addr, mask, prefix, text: `${formatIPv4(addr)}/${prefix}` };
}

/** An address or CIDR as an iptables -s/-d argument: a bare address means /32. */
export function parseAddrOrCidr(s: string): Cidr4 | null {
  if (s.includes('/')) return parseCidr4(s);
  const ip = parseIPv4(s.trim());
  if (ip === null) return null;
  return { addr: ip, mask: -1, prefix: 32, text: formatIPv4(ip) };
}

export function cidrContains(c: Cidr4, ip: number): boolean {
  return (ip & c.mask) === c.addr;
}

/** Parses a dotted quad to its unsigned value; throws a RangeError when it is not a valid IPv4 address. */
export function ipv4ToUint(s: string): number {
  const n = parseIPv4(s);
  if (n === null) throw new RangeError(`not an IPv4 address: ${s}`);
  return n >>> 0;
}
