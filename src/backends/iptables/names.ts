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

// SHA-256 (FIPS 180-4) of short ASCII strings, in plain JS: kube-proxy hashes every service port and endpoint
// name, which at a million endpoints made node:crypto's per-call setup a dominant cost of a sync.
const K256 = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const shaW = new Int32Array(64);
const shaH = new Int32Array(8);
const shaOut = new Uint8Array(32);
const MAX_JS_SHA = 1 << 16;
let shaBuf = new Uint8Array(128);

/** SHA-256 of `s` (UTF-8) into a shared 32-byte buffer (valid until the next call). */
export function sha256(s: string): Uint8Array {
  const n = s.length;
  let ascii = n <= MAX_JS_SHA;
  for (let i = 0; ascii && i < n; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
  if (!ascii) {
    shaOut.set(createHash('sha256').update(s, 'utf8').digest());
    return shaOut;
  }
  const W = shaW;
  const H = shaH;
  H.set(H0);
  // message + 0x80 + zeros + 64-bit big-endian bit length, in 64-byte blocks
  const blocks = Math.floor((n + 8) / 64) + 1;
  const len = blocks * 64;
  if (shaBuf.length < len) shaBuf = new Uint8Array(len);
  const m = shaBuf;
  for (let i = 0; i < n; i++) m[i] = s.charCodeAt(i);
  m.fill(0, n, len);
  m[n] = 0x80;
  const bits = n * 8;
  m[len - 4] = bits >>> 24;
  m[len - 3] = (bits >>> 16) & 0xff;
  m[len - 2] = (bits >>> 8) & 0xff;
  m[len - 1] = bits & 0xff;
  for (let b = 0; b < blocks; b++) {
    const o = b * 64;
    for (let t = 0; t < 16; t++) {
      const i = o + t * 4;
      W[t] = (m[i]! << 24) | (m[i + 1]! << 16) | (m[i + 2]! << 8) | m[i + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15]!;
      const w2 = W[t - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
    }
    let a = H[0]!;
    let bb = H[1]!;
    let c = H[2]!;
    let d = H[3]!;
    let e = H[4]!;
    let f = H[5]!;
    let g = H[6]!;
    let h = H[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K256[t]! + W[t]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    H[0] = (H[0]! + a) | 0;
    H[1] = (H[1]! + bb) | 0;
    H[2] = (H[2]! + c) | 0;
    H[3] = (H[3]! + d) | 0;
    H[4] = (H[4]! + e) | 0;
    H[5] = (H[5]! + f) | 0;
    H[6] = (H[6]! + g) | 0;
    H[7] = (H[7]! + h) | 0;
  }
  for (let i = 0; i < 8; i++) {
    const v = H[i]!;
    shaOut[i * 4] = v >>> 24;
    shaOut[i * 4 + 1] = (v >>> 16) & 0xff;
    shaOut[i * 4 + 2] = (v >>> 8) & 0xff;
    shaOut[i * 4 + 3] = v & 0xff;
  }
  return shaOut;
}

/**
 * `prefix` + the first 16 base32 characters of SHA-256(s), built as one flat string (appending characters one by
 * one would leave a rope behind every chain name).
 */
export function hashedName(prefix: string, s: string): string {
  const d = sha256(s);
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
