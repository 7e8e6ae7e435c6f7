/**
 * Cilium's load-balancing BPF maps (IPv4), modelled as the agent keeps them. Struct layouts and names from
 * cilium/cilium `bpf/lib/common.h` (struct lb4_key, lb4_service, lb4_backend, lb4_reverse_nat) and
 * `pkg/loadbalancer/maps` / `pkg/maps/lbmap` (Service4Key, Service4Value, Backend4KeyV3, Backend4ValueV3,
 * RevNat4Key, RevNat4Value); flags from `pkg/loadbalancer` (ServiceFlags, NewSvcFlag, BackendState).
 *
 * - `cilium_lb4_services_v2` (hash): key {__be32 address; __be16 dport; __u16 backend_slot; __u8 proto; __u8 scope;
 *   __u8 pad[2]} (12 bytes) -> value {__u32 backend_id (master: lb algorithm << 24 | affinity timeout);
 *   __u16 count; __u16 rev_nat_index; __u8 flags; __u8 flags2; __u16 qcount} (12 bytes). Slot 0 is the master
 *   entry (count = backends selectable for new connections, qcount = the others), slots 1..count+qcount name
 *   backend IDs, selectable ones first.
 * - `cilium_lb4_backends_v3` (hash): key __u32 backend ID -> {__be32 address; __be16 port; __u8 proto; __u8 flags
 *   (state); __u16 cluster_id; __u8 zone; __u8 pad} (12 bytes).
 * - `cilium_lb4_reverse_nat` (hash): key __u16 rev-NAT ID (= the frontend's service ID) -> {__be32 address;
 *   __be16 port} (packed, 6 bytes).
 * - `cilium_lb4_maglev` (hash of maps): key __u16 rev-NAT ID -> an inner array map with ONE element of
 *   M x __u32 backend IDs.
 * Multi-byte fields other than the __be ones are host order (little-endian here); rev_nat_index is stored in
 * network order (ToNetwork swaps it), as the datapath compares it with conntrack's.
 */

export const MAP_NAMES = {
  services: 'cilium_lb4_services_v2',
  backends: 'cilium_lb4_backends_v3',
  revNat: 'cilium_lb4_reverse_nat',
  maglev: 'cilium_lb4_maglev',
  ct: 'cilium_ct4_global',
  sockRevNat: 'cilium_lb4_reverse_sk',
  affinity: 'cilium_lb4_affinity',
} as const;

export const SERVICE_KEY_BYTES = 12;
export const SERVICE_VALUE_BYTES = 12;
export const BACKEND_KEY_BYTES = 4;
export const BACKEND_VALUE_BYTES = 12;
export const REVNAT_KEY_BYTES = 2;
export const REVNAT_VALUE_BYTES = 6;

/** Lookup scopes (pkg/loadbalancer ScopeExternal / ScopeInternal; LB_LOOKUP_SCOPE_EXT / _INT in the datapath). */
export const SCOPE_EXTERNAL = 0;
export const SCOPE_INTERNAL = 1;

export const PROTO_NUMBER: Record<string, number> = { ANY: 0, TCP: 6, UDP: 17, SCTP: 132 };
export function protoName(n: number): string {
  return n === 6 ? 'TCP' : n === 17 ? 'UDP' : n === 132 ? 'SCTP' : 'ANY';
}

/** lb{4,6}_service.flags / flags2 bits (pkg/loadbalancer serviceFlag*). */
export const SVC_FLAG = {
  externalIPs: 1 << 0,
  nodePort: 1 << 1,
  extLocalScope: 1 << 2,
  hostPort: 1 << 3,
  sessionAffinity: 1 << 4,
  loadBalancer: 1 << 5,
  routable: 1 << 6,
  sourceRange: 1 << 7,
  localRedirect: 1 << 8,
  nat46x64: 1 << 9,
  l7LoadBalancer: 1 << 10,
  loopback: 1 << 11,
  intLocalScope: 1 << 12,
  twoScopes: 1 << 13,
  quarantined: 1 << 14,
  sourceRangeDeny: 1 << 14,
  fwdModeDSR: 1 << 15,
} as const;

export type SvcType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalIPs' | 'HostPort';

export interface SvcFlagParams {
  type: SvcType;
  extLocal: boolean;
  intLocal: boolean;
  sessionAffinity: boolean;
  routable: boolean;
  checkSourceRange: boolean;
}

/** NewSvcFlag. */
export function svcFlags(p: SvcFlagParams): number {
  let f = 0;
  if (p.type === 'ExternalIPs') f |= SVC_FLAG.externalIPs;
  else if (p.type === 'NodePort') f |= SVC_FLAG.nodePort;
  else if (p.type === 'LoadBalancer') f |= SVC_FLAG.loadBalancer;
  else if (p.type === 'HostPort') f |= SVC_FLAG.hostPort;
  if (p.extLocal) f |= SVC_FLAG.extLocalScope;
  if (p.intLocal) f |= SVC_FLAG.intLocalScope;
  if (p.sessionAffinity) f |= SVC_FLAG.sessionAffinity;
  if (p.routable) f |= SVC_FLAG.routable;
  if (p.checkSourceRange) f |= SVC_FLAG.sourceRange;
  if (p.extLocal !== p.intLocal && p.type !== 'ClusterIP') f |= SVC_FLAG.twoScopes;
  return f;
}

/** ServiceFlags.SVCType(). */
export function flagsType(f: number): SvcType {
  if (f & SVC_FLAG.externalIPs) return 'ExternalIPs';
  if (f & SVC_FLAG.nodePort) return 'NodePort';
  if (f & SVC_FLAG.loadBalancer) return 'LoadBalancer';
  if (f & SVC_FLAG.hostPort) return 'HostPort';
  return 'ClusterIP';
}

/** ServiceFlags.String() for the flags we set: "ClusterIP, non-routable", "LoadBalancer, Local, two-scopes". */
export function flagsString(f: number): string {
  const s: string[] = [flagsType(f)];
  if (f & SVC_FLAG.extLocalScope) s.push('Local');
  if (f & SVC_FLAG.intLocalScope) s.push('InternalLocal');
  if (f & SVC_FLAG.twoScopes) s.push('two-scopes');
  if (f & SVC_FLAG.sessionAffinity) s.push('sessionAffinity');
  if (!(f & SVC_FLAG.routable)) s.push('non-routable');
  if (f & SVC_FLAG.sourceRange) {
    s.push('check source-range');
    if (f & SVC_FLAG.sourceRangeDeny) s.push('deny');
  }
  if (f & SVC_FLAG.fwdModeDSR) s.push('dsr');
  return s.join(', ');
}

/** Backend states and their lb4_backend.flags values (BackendState*, BackendState*Flag). */
export type BackendState = 'active' | 'terminating' | 'quarantined' | 'maintenance';
export const BACKEND_STATE_FLAG: Record<BackendState, number> = { active: 0, terminating: 1, quarantined: 2, maintenance: 3 };

export interface ServiceKey {
  /** IPv4 address as an unsigned 32-bit number. */
  address: number;
  port: number;
  proto: number;
  scope: number;
  slot: number;
}

export interface ServiceValue {
  /** Slots: the backend ID. Master: lb algorithm << 24 | session affinity timeout (seconds, 24 bits). */
  backendId: number;
  count: number;
  qcount: number;
  revNat: number;
  /** 16 bits: flags | flags2 << 8. */
  flags: number;
}

export interface BackendValue {
  address: number;
  port: number;
  proto: number;
  state: BackendState;
  clusterId: number;
  zone: number;
}

export interface RevNatValue {
  address: number;
  port: number;
}

export function serviceKeyId(k: Omit<ServiceKey, 'slot'>, slot: number): string {
  // joined: one flat string per map entry, not a rope of several
  return [k.address, k.port, k.proto, k.scope, slot].join(':');
}

// --- raw encodings (what the bpf syscall carries; `bpftool map dump` prints these bytes) ----------------------

function be32(b: number[], v: number): void {
  b.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}
function be16(b: number[], v: number): void {
  b.push((v >>> 8) & 255, v & 255);
}
function le16(b: number[], v: number): void {
  b.push(v & 255, (v >>> 8) & 255);
}
function le32(b: number[], v: number): void {
  b.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
}

export function encodeServiceKey(k: ServiceKey): number[] {
  const b: number[] = [];
  be32(b, k.address);
  be16(b, k.port);
  le16(b, k.slot);
  b.push(k.proto & 255, k.scope & 255, 0, 0);
  return b;
}

export function encodeServiceValue(v: ServiceValue): number[] {
  const b: number[] = [];
  le32(b, v.backendId >>> 0);
  le16(b, v.count);
  be16(b, v.revNat);
  b.push(v.flags & 255, (v.flags >>> 8) & 255);
  le16(b, v.qcount);
  return b;
}

export function encodeBackendKey(id: number): number[] {
  const b: number[] = [];
  le32(b, id);
  return b;
}

export function encodeBackendValue(v: BackendValue): number[] {
  const b: number[] = [];
  be32(b, v.address);
  be16(b, v.port);
  b.push(v.proto & 255, BACKEND_STATE_FLAG[v.state]);
  le16(b, v.clusterId);
  b.push(v.zone & 255, 0);
  return b;
}

export function encodeRevNatKey(id: number): number[] {
  const b: number[] = [];
  be16(b, id);
  return b;
}

export function encodeRevNatValue(v: RevNatValue): number[] {
  const b: number[] = [];
  be32(b, v.address);
  be16(b, v.port);
  return b;
}
