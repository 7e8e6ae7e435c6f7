import { formatIPv4, ipv4ToUint, parseCidr4, parseIPv4 } from '../net/ipv4.js';
import { formatIPv6Bytes, parseCIDRSloppy, parseIPSloppy } from '../net/ip.js';

/** IPv4 helpers of the cluster model (unsigned addresses), on top of src/net/ipv4.ts. */

export function isIPv4(s: string): boolean {
  return parseIPv4(s) !== null;
}

export interface Cidr {
  /** Unsigned network address. */
  base: number;
  bits: number;
  /** Number of addresses. */
  size: number;
}

export function parseCidr(cidr: string): Cidr {
  const c = parseCidr4(cidr);
  if (c === null) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  return { base: c.addr >>> 0, bits: c.prefix, size: 2 ** (32 - c.prefix) };
}

export function cidrContains(cidr: string | Cidr, ip: string): boolean {
  const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const n = ipv4ToUint(ip);
  return n >= c.base && n < c.base + c.size;
}

/** Hands out addresses of a CIDR in order (skipping the first `reserved` offsets and anything claimed), and takes them back. */
interface OffsetSet {
  has(n: number): boolean;
  add(n: number): unknown;
  delete(n: number): boolean;
}

/** A set of offsets below `size`, one bit each. */
class BitSet implements OffsetSet {
  private readonly bits: Uint8Array;
  constructor(readonly size: number) {
    this.bits = new Uint8Array(Math.ceil(size / 8));
  }
  has(n: number): boolean {
    return n >= 0 && n < this.size && (this.bits[n >>> 3]! & (1 << (n & 7))) !== 0;
  }
  add(n: number): this {
    if (n >= 0 && n < this.size) this.bits[n >>> 3]! |= 1 << (n & 7);
    return this;
  }
  delete(n: number): boolean {
    if (!this.has(n)) return false;
    this.bits[n >>> 3]! &= ~(1 << (n & 7));
    return true;
  }
}

export class IpAllocator {
  private readonly cidr: Cidr;
  private next: number;
  private readonly free: number[] = [];
  /** Offsets in use: a bitmap (a /24 of pods costs 32 bytes, not a set of numbers). */
  private readonly used: OffsetSet;
  constructor(
    readonly range: string,
    reserved = 1,
  ) {
    this.cidr = parseCidr(range);
    this.next = reserved;
    this.used = this.cidr.size <= 1 << 24 ? new BitSet(this.cidr.size) : new Set<number>();
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
      return formatIPv4(this.cidr.base + off);
    }
  }
  /** Marks a specific address as used (objects loaded with fixed addresses). */
  claim(ip: string): void {
    const off = ipv4ToUint(ip) - this.cidr.base;
    if (off >= 0 && off < this.cidr.size) this.used.add(off);
  }
  release(ip: string): void {
    const off = ipv4ToUint(ip) - this.cidr.base;
    if (this.used.delete(off)) this.free.push(off);
  }
}

/** An IPv6 network as a 128-bit integer and its prefix length. */
export interface Cidr6 {
  base: bigint;
  prefix: number;
}

export function parseCidr6(cidr: string): Cidr6 {
  const c = parseCIDRSloppy(cidr.trim());
  if (c === null || c.family !== 'IPv6') throw new RangeError(`not an IPv6 CIDR: ${cidr}`);
  return { base: ipv6ToBigInt(c.text.slice(0, c.text.indexOf('/'))), prefix: c.prefix };
}

export function ipv6ToBigInt(ip: string): bigint {
  const p = parseIPSloppy(ip);
  if (p === null || p.family !== 'IPv6') throw new RangeError(`not an IPv6 address: ${ip}`);
  return p.bytes.reduce((a, b) => (a << 8n) | BigInt(b), 0n);
}

export function formatIPv6BigInt(n: bigint): string {
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((n >> BigInt(8 * i)) & 255n));
  return formatIPv6Bytes(bytes);
}

/** The `index`-th subnet of length `prefix` inside `cidr` (a node's /64 of the IPv6 cluster CIDR). */
export function subnet6(cidr: string, prefix: number, index: number): string {
  const c = parseCidr6(cidr);
  if (prefix < c.prefix || BigInt(index) >= 1n << BigInt(prefix - c.prefix))
    throw new RangeError(`IPv6 CIDR ${cidr} has no /${prefix} number ${index}`);
  return `${formatIPv6BigInt(c.base + (BigInt(index) << BigInt(128 - prefix)))}/${prefix}`;
}

/** IpAllocator for an IPv6 range: offsets from the network address, in order, released ones reused last. */
export class Ip6Allocator {
  private readonly cidr: Cidr6;
  private readonly size: bigint;
  private next: bigint;
  private readonly free: bigint[] = [];
  private readonly used = new Set<bigint>();
  constructor(
    readonly range: string,
    reserved = 1,
  ) {
    this.cidr = parseCidr6(range);
    this.size = 1n << BigInt(128 - this.cidr.prefix);
    this.next = BigInt(reserved);
  }
  allocate(): string {
    for (;;) {
      let off: bigint | undefined;
      if (this.next < this.size - 1n) off = this.next++;
      else off = this.free.shift();
      if (off === undefined) throw new RangeError(`address range ${this.range} is exhausted`);
      if (this.used.has(off)) continue;
      this.used.add(off);
      return formatIPv6BigInt(this.cidr.base + off);
    }
  }
  claim(ip: string): void {
    const off = ipv6ToBigInt(ip) - this.cidr.base;
    if (off >= 0n && off < this.size) this.used.add(off);
  }
  release(ip: string): void {
    const off = ipv6ToBigInt(ip) - this.cidr.base;
    if (this.used.delete(off)) this.free.push(off);
  }
}
