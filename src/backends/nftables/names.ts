/**
 * Names exactly as kube-proxy's nftables proxier builds them (pkg/proxy/nftables/proxier.go: hashAndTruncate,
 * servicePortChainNameBase, servicePortEndpointChainNameBase and the chain-name prefixes).
 */
import crypto from 'node:crypto';

/** knftables.NameLengthMax. */
export const NAME_LENGTH_MAX = 256;
/** chainNamePrefixLengthMax: the longest prefix ("firewall-", "external-", ...) plus room to spare. */
export const CHAIN_NAME_PREFIX_LENGTH_MAX = 16;
/** chainNameBaseLengthMax = knftables.NameLengthMax - chainNamePrefixLengthMax. */
export const CHAIN_NAME_BASE_LENGTH_MAX = NAME_LENGTH_MAX - CHAIN_NAME_PREFIX_LENGTH_MAX;

export const SERVICE_PREFIX = 'service-';
export const LOCAL_PREFIX = 'local-';
export const EXTERNAL_PREFIX = 'external-';
export const ENDPOINT_PREFIX = 'endpoint-';
export const AFFINITY_PREFIX = 'affinity-';
export const FIREWALL_PREFIX = 'firewall-';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 8 characters of Go's base32.StdEncoding of SHA-256(s): exactly the first 5 bytes of the digest. */
export function hash8(s: string): string {
  const d = crypto.hash('sha256', s, 'buffer');
  // 5 bytes = 40 bits = 8 base32 characters, exact in a double
  const v = d[0]! * 2 ** 32 + ((d[1]! << 24) >>> 0) + (d[2]! << 16) + (d[3]! << 8) + d[4]!;
  let out = '';
  for (let k = 7; k >= 0; k--) out += B32[Math.floor(v / 2 ** (5 * k)) % 32];
  return out;
}

/**
 * hashAndTruncate: the hash, '-', the readable name, cut to chainNameBaseLengthMax bytes ending in "..." when
 * longer (names are ASCII: namespaces, names, port names, protocols, IPs and ports).
 */
export function hashAndTruncate(name: string): string {
  let out = `${hash8(name)}-${name}`;
  if (out.length > CHAIN_NAME_BASE_LENGTH_MAX) out = `${out.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`;
  return out;
}

/** servicePortChainNameBase: "HASH-namespace/name/protocol/portName", e.g. "ULMVA6XW-ns1/svc1/tcp/p80". */
export function servicePortChainNameBase(namespace: string, name: string, protocolLower: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocolLower}/${portName}`);
}

/**
 * servicePortEndpointChainNameBase: "HASH-namespace/name/protocol/portName__IP/port" (IPv6 colons become dots),
 * e.g. "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80".
 */
export function endpointChainNameBase(
  namespace: string,
  name: string,
  protocolLower: string,
  portName: string,
  ip: string,
  port: number,
): string {
  const host = ip.includes(':') ? ip.replaceAll(':', '.') : ip;
  return hashAndTruncate(`${namespace}/${name}/${protocolLower}/${portName}__${host}/${port}`);
}

/** isServiceChainName: per-service chains always hold a '/', none of the fixed chains does. */
export function isServiceChainName(name: string): boolean {
  return name.includes('/');
}

/** isAffinitySetName. */
export function isAffinitySetName(name: string): boolean {
  return name.startsWith(AFFINITY_PREFIX);
}

/** Go's fmt.Sprintf("%#08x", 1<<bit): kube-proxy's masquerade mark ("0x00004000" for bit 14). */
export function masqueradeMarkText(bit: number): string {
  return `0x${((1 << bit) >>> 0).toString(16).padStart(8, '0')}`;
}
