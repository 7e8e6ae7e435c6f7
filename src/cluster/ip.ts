/** IPv4 helpers. */

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new RangeError(`not an IPv4 address: ${ip}`);
    const v = Number(p);
    if (v > 255) throw new RangeError(`not an IPv4 address: ${ip}`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIPv4(s: string): boolean {
  try {
    ipToInt(s);
    return true;
  } catch {
    return false;
  }
}

export interface Cidr {
  base: number;
  bits: number;
  /** Number of addresses. */
  size: number;
}

export function parseCidr(cidr: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const bits = Number(m[2]);
  if (bits > 32) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - bits);
  const base = ipToInt(m[1]!) - (ipToInt(m[1]!) % size);
  return { base, bits, size };
}

export function cidrContains(cidr: string | Cidr, ip: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + c.size;
}

/** Hands out addresses of a CIDR in order (skipping the first `reserved` offsets and anything claimed), and takes them back. */
export class IpAllocator {
  private readonly cidr: Cidr;
  private next: number;
  private readonly free: number[] = [];
  private readonly used = new Set<number>();
  constructor(readonly range: string, reserved = 1) {
    this.cidr = parseCidr(range);
    this.next = reserved;
  }
  allocate(): string {
    for (;;) {
      // fresh addresses first, released ones (oldest first) only when the range is used up, so that an address
      // is not handed to a new pod while stale rules may still point at it
      let off: number | undefined;
      if (this.next < this.cidr.size - 1) off = this.next++;
      else off = this.free.shift();
      if (off === undefined) throw new RangeError(`address range ${this.range} is exhausted`);
      if (this.used.has(off)) continue;
      this.used.add(off);
      return intToIp(this.cidr.base + off);
    }
  }
  /** Marks a specific address as used (objects loaded with fixed addresses). */
  claim(ip: string): void {
    const off = ipToInt(ip) - this.cidr.base;
    if (off >= 0 && off < this.cidr.size) this.used.add(off);
  }
  release(ip: string): void {
    const off = ipToInt(ip) - this.cidr.base;
    if (this.used.delete(off)) this.free.push(off);
  }
}
