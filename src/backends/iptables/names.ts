/**
 * Chain names and number formats exactly as kube-proxy's iptables proxier produces them
 * (pkg/proxy/iptables/proxier.go: portProtoHash, servicePortEndpointChainName, computeProbability).
 */
import { createHash } from 'node:crypto';
import { formatFixed } from '../../netfilter/statistic.js';

export { formatFixed, kernelProbability, saveProbability } from '../../netfilter/statistic.js';

/** RFC 4648 base32, standard alphabet (Go's base32.StdEncoding). */
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * Base32 of the first `bytes` bytes of `buf` (a multiple of 5 bytes gives no padding: 10 bytes → 16 characters,
 * which is all kube-proxy keeps of the encoded SHA-256).
 */
export function base32(buf: Uint8Array, bytes = buf.length): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes; i++) {
    acc = ((acc << 8) | buf[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

const nameCodes: number[] = [];

/**
 * `prefix` + the first 16 base32 characters of SHA-256(s), built as one flat string (appending characters one by
 * one would leave a rope behind every chain name).
 */
export function hashedName(prefix: string, s: string): string {
  const d = createHash('sha256').update(s, 'utf8').digest();
  nameCodes.length = 0;
  for (let i = 0; i < prefix.length; i++) nameCodes.push(prefix.charCodeAt(i));
  // 10 bytes = 80 bits = 16 base32 characters, 5 bytes (40 bits) at a time
  for (let g = 0; g < 10; g += 5) {
    const hi = (d[g]! << 8) | d[g + 1]!; // 16 bits
    const lo = ((d[g + 2]! << 16) | (d[g + 3]! << 8) | d[g + 4]!) >>> 0; // 24 bits
    const v = hi * 0x1000000 + lo; // 40 bits, exact in a double
    for (let k = 7; k >= 0; k--) nameCodes.push(B32.charCodeAt(Math.floor(v / 2 ** (5 * k)) & 31));
  }
  return String.fromCharCode.apply(null, nameCodes);
}

/** First 16 base32 characters of SHA-256(s): the hash part of every KUBE-* per-service chain name. */
export function hash16(s: string): string {
  return hashedName('', s);
}

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const FW_PREFIX = 'KUBE-FW-';
export const SEP_PREFIX = 'KUBE-SEP-';

/**
 * portProtoHash: base32(SHA-256(servicePortName + lower-case protocol))[:16], shared by the KUBE-SVC-, KUBE-SVL-,
 * KUBE-EXT- and KUBE-FW- chains of one service port. `servicePortName` is ServicePortName.String():
 * "namespace/name:portName", or "namespace/name" for an unnamed port.
 */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol.toLowerCase());
}

export function serviceChainName(servicePortName: string, protocol: string): string {
  return SVC_PREFIX + portProtoHash(servicePortName, protocol);
}

/** KUBE-SEP-: the endpoint "IP:port" (net.JoinHostPort) is appended to the hashed string. */
export function endpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return hashedName(SEP_PREFIX, servicePortName + protocol.toLowerCase() + endpoint);
}

/** True for the chain prefixes kube-proxy owns per service (isServiceChainName). */
export function isServiceChainName(name: string): boolean {
  return (
    name.startsWith(SVC_PREFIX) ||
    name.startsWith(SVL_PREFIX) ||
    name.startsWith(SEP_PREFIX) ||
    name.startsWith(FW_PREFIX) ||
    name.startsWith(EXT_PREFIX)
  );
}

/** kube-proxy's computeProbability(n): fmt.Sprintf("%0.10f", 1.0/float64(n)). */
export function computeProbability(n: number): string {
  return formatFixed(1 / n, 10);
}

/** Go's fmt.Sprintf("%#08x", v), which kube-proxy uses for the masquerade mark: "0x00004000" for bit 14. */
export function goHex08(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}
