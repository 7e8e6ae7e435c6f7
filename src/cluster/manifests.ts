/**
 * Real Kubernetes objects in: reads YAML or JSON manifests (single documents, multi-document YAML, `kind: List`
 * as `kubectl get -o yaml|json` prints it) into the harness's model objects, with the API server's defaults.
 *
 * Kinds read: v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Pod, networking.k8s.io/v1 Ingress, v1 Node.
 * Any other kind is skipped and listed in `skipped`. Each known kind is validated with a zod schema; unknown
 * fields are allowed (real objects carry many). A malformed manifest throws an InputError whose one line names
 * the file, the object (`Service ns/name`, or `document 3` when it has no name yet), the field path
 * (`spec.ports[0].port`) and the reason.
 *
 * Addresses are read as kube-proxy reads them (ParseIPSloppy: `172.30.0.041` is 172.30.0.41) and kept in
 * canonical form. The cluster model is IPv4, as a single-stack IPv4 kube-proxy sees the cluster; the IPv6 family
 * is kept beside it for kube-proxy's IPv6 proxier (`kpbench render` with an IPv6 node IP): a dual-stack
 * service's IPv6 addresses in `Service.ipv6`, IPv6-only services in `ipv6OnlyServices` (and listed in `skipped`,
 * since the IPv4 model has no place for them), IPv6 slices as they are, a Node's IPv6 addresses in `ipsV6`.
 *
 * Like the API server, loading allocates what a stored object would have: a cluster IP for a Service that has
 * none (from 10.96.0.0/12, avoiding every cluster IP given in the manifests), node ports for NodePort and
 * LoadBalancer ports without one (30000-32767; not for `allocateLoadBalancerNodePorts: false`), and a health
 * check node port for LoadBalancer services with externalTrafficPolicy Local. Allocation is deterministic:
 * in the order the objects appear.
 */
import { readdirSync, statSync } from 'node:fs';
import { readInputText } from '../io/read.js';
import { checkPlainValue, parseYaml } from '../io/yaml.js';
import { join } from 'node:path';
import { z } from 'zod';
import type {
  ContainerPort,
  Endpoint,
  EndpointPort,
  EndpointSlice,
  Ingress,
  IngressPath,
  IngressRule,
  Labels,
  NodeInfo,
  Pod,
  PodPhase,
  Protocol,
  Service,
  ServicePort,
} from '../types.js';
import { InputError } from '../errors.js';
import { Cluster, DEFAULT_CLUSTER } from './cluster.js';
import { podWithDefaults, serviceWithDefaults } from './defaults.js';
import { EndpointsController } from './endpoints.js';
import { IpAllocator, cidrContains, parseCidr } from './ip.js';
import { parseCIDRSloppy, parseIPSloppy, type IPFamily } from '../net/ip.js';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** An object that was read but not loaded (a kind the harness does not model, or an IPv6-only service). */
export interface SkippedObject {
  file: string;
  /** `document 3`, or `document 1 items[4]` inside a List. */
  where: string;
  kind: string;
  /** `namespace/name` (just `name` for cluster-scoped objects), '' when the object has no name. */
  name: string;
  reason: string;
}

export interface LoadedManifests {
  services: Service[];
  /** Services of the IPv6 family only (not in `services`; listed in `skipped`). */
  ipv6OnlyServices: Service[];
  slices: EndpointSlice[];
  pods: Pod[];
  ingresses: Ingress[];
  nodes: NodeInfo[];
  skipped: SkippedObject[];
}

export interface LoadOptions {
  /** Range cluster IPs are allocated from for services without one [10.96.0.0/12]. */
  serviceCIDR?: string;
  /** Range node ports are allocated from [30000-32767]. */
  nodePortRange?: [number, number];
}

/**
 * Reads manifest files (`-` is standard input; a directory means its *.yaml, *.yml and *.json files, sorted).
 * Throws InputError for a missing file, a syntax error or an invalid object.
 */
export function loadManifests(files: readonly string[], opts: LoadOptions = {}): LoadedManifests {
  const sources: { file: string; text: string }[] = [];
  for (const f of files) {
    for (const path of expandPath(f)) sources.push({ file: path, text: readSource(path) });
  }
  return parseManifests(sources, opts);
}

/** Parses manifest texts already in memory (for tests and generated clusters); `file` names each in errors. */
export function parseManifests(sources: readonly { file: string; text: string }[], opts: LoadOptions = {}): LoadedManifests {
  const acc = new Accumulator();
  for (const { file, text } of sources) {
    parseText(text, file).forEach((doc, i) => {
      if (doc !== null && doc !== undefined) acc.addObject(doc, file, `document ${i + 1}`);
    });
  }
  return acc.finish(opts);
}

/** Converts objects already parsed (e.g. built in code, or from JSON.parse) as if they were read from `file`. */
export function loadObjects(objects: readonly unknown[], file = '<objects>', opts: LoadOptions = {}): LoadedManifests {
  const acc = new Accumulator();
  objects.forEach((o, i) => acc.addObject(o, file, `document ${i + 1}`));
  return acc.finish(opts);
}

/**
 * The EndpointSlices kube-proxy would see: those in the manifests, plus, for every service with a selector that
 * has no EndpointSlice in the manifests, the slices the EndpointSlice controller would publish from the
 * manifests' pods (only pods with an address; a named targetPort is resolved from the pods' container ports).
 */
export function effectiveSlices(m: Pick<LoadedManifests, 'services' | 'slices' | 'pods' | 'nodes'>): EndpointSlice[] {
  const withSlices = new Set(m.slices.map((s) => `${s.namespace}/${s.serviceName}`));
  const wanting = m.services.filter((s) => s.selector !== null && !withSlices.has(`${s.namespace}/${s.name}`) && s.type !== 'ExternalName');
  const pods = m.pods.filter((p) => p.ip !== '');
  if (wanting.length === 0 || pods.length === 0) return [...m.slices];
  const cluster = new Cluster();
  const ctrl = new EndpointsController(cluster);
  for (const n of m.nodes) {
    if (cluster.nodes.has(n.name)) continue;
    cluster.addNode(n.name, n.ips[0], n.podCIDR === '' ? undefined : n.podCIDR).zone = n.zone;
  }
  // nodes named by pods but not given: any pod CIDR will do (the pods have their addresses), so no /24 runs out
  for (const p of pods) if (p.nodeName !== '' && !cluster.nodes.has(p.nodeName)) cluster.addNode(p.nodeName, undefined, `${p.ip}/32`);
  for (const s of wanting) cluster.addService({ ...s });
  for (const p of pods) cluster.addPod({ ...p });
  const out = [...m.slices];
  for (const s of wanting) for (const sl of ctrl.slicesOf(`${s.namespace}/${s.name}`)) out.push(sl);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------------

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

function expandPath(f: string): string[] {
  if (f === '-') return [f];
  if (f.trim() === '') throw new InputError('--manifests', 'empty file name');
  let st;
  try {
    st = statSync(f);
  } catch (e) {
    throw new InputError(f, fsReason(e));
  }
  if (!st.isDirectory()) return [f];
  const names = readdirSync(f)
    .filter((n) => MANIFEST_EXT.test(n))
    .sort();
  if (names.length === 0) throw new InputError(f, 'directory holds no *.yaml, *.yml or *.json file');
  return names.map((n) => join(f, n));
}

function readSource(path: string): string {
  // stat first and read with a byte cap: a FIFO, /dev/zero or a huge file is refused, not read whole
  return readInputText(path);
}

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/**
 * The documents of one file, as plain JS values (null for an empty document). As kubectl does, a text starting
 * with `{` or `[` is JSON (strictly), anything else YAML (1.2, which is what JSON-compatible Kubernetes YAML is).
 */
function parseText(text: string, file: string): unknown[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(trimmed);
      checkPlainValue(v, file);
      return [v];
    } catch (e) {
      if (e instanceof InputError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      const pos = /position (\d+)/.exec(msg);
      const at = pos ? ` at ${lineCol(trimmed, Number(pos[1]))}` : '';
      throw new InputError(file, `JSON syntax error${at}: ${msg.split('\n')[0]!.replace(/ (in|after) JSON at position \d+.*$/, '')}`);
    }
  }
  // duplicate keys, depth, aliases and __proto__ checked in linear time (src/io/yaml.ts)
  return parseYaml(text, file, { multi: true });
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `line ${line}, column ${col}`;
}

// ---------------------------------------------------------------------------------------------
// Schemas (zod): one per kind; unknown fields pass (and are dropped); null means unset, as in the API
// ---------------------------------------------------------------------------------------------

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const str = z.string({
  error: (iss) =>
    `must be a string (got ${show(iss.input)}${typeof iss.input === 'boolean' || typeof iss.input === 'number' ? '; quote it in YAML' : ''})`,
});
const bool = z.boolean({ error: (iss) => `must be true or false (got ${show(iss.input)})` });

function intIn(lo: number, hi: number) {
  return z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi, {
    error: (iss) => `must be an integer from ${lo} to ${hi} (got ${show(iss.input)})`,
  });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (iss) => `must be one of ${values.join(', ')} (got ${show(iss.input)})` });
}

function obj<S extends z.ZodRawShape>(shape: S) {
  return z.object(shape, { error: (iss) => `must be a mapping (got ${show(iss.input)})` });
}

function arr<T extends z.ZodType>(item: T) {
  return z.array(item, { error: (iss) => `must be a list (got ${show(iss.input)})` });
}

const labelsSchema = z.record(z.string(), str, { error: (iss) => `must be a mapping of strings (got ${show(iss.input)})` });

/** IANA_SVC_NAME, as the API validates a named port. */
const IANA_SVC_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const portNumber = intIn(1, 65535);
const protocolSchema = oneOf(['TCP', 'UDP', 'SCTP']);

const targetPortSchema = z.custom<number | string>(
  (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535) || (typeof v === 'string' && IANA_SVC_NAME.test(v)),
  {
    error: (iss) =>
      `must be a port number from 1 to 65535 or a port name (lower-case letters, digits and '-', at most 15, with a letter) (got ${show(iss.input)})`,
  },
);

// addresses as kube-proxy parses them (ParseIPSloppy: `172.30.0.041` is 172.30.0.41); converted to canonical text below
const ipSchema = z.custom<string>((v) => typeof v === 'string' && parseIPSloppy(v) !== null, {
  error: (iss) => `must be an IP address (got ${show(iss.input)})`,
});
const clusterIPSchema = z.custom<string>((v) => typeof v === 'string' && (v === 'None' || v === '' || parseIPSloppy(v) !== null), {
  error: (iss) => `must be an IP address, "None" or "" (got ${show(iss.input)})`,
});
const cidrSchema = z.custom<string>((v) => typeof v === 'string' && isCidr(v.trim()), {
  error: (iss) => `must be a CIDR such as 203.0.113.0/24 (got ${show(iss.input)})`,
});

function isCidr(s: string): boolean {
  return parseCIDRSloppy(s) !== null;
}

/** The canonical text of an address of `family` as kube-proxy parses it, or null (another family, or not an address). */
function canonIP(s: string, family: IPFamily = 'IPv4'): string | null {
  const p = parseIPSloppy(s);
  return p !== null && p.family === family ? p.text : null;
}

/** Canonical texts of the addresses of `family` in `list`, in order (others dropped, as a single-stack kube-proxy does). */
function canonIPs(list: readonly string[], family: IPFamily = 'IPv4'): string[] {
  return list.flatMap((ip) => {
    const c = canonIP(ip, family);
    return c === null ? [] : [c];
  });
}

const metadataSchema = obj({
  name: str.nullish(),
  namespace: str.nullish(),
  labels: labelsSchema.nullish(),
  annotations: labelsSchema.nullish(),
  deletionTimestamp: z.unknown().optional(),
});

const servicePortSchema = obj({
  name: str.nullish(),
  protocol: protocolSchema.nullish(),
  port: portNumber,
  targetPort: targetPortSchema.nullish(),
  nodePort: intIn(0, 65535).nullish(),
});

const serviceSchema = obj({
  metadata: metadataSchema,
  spec: obj({
    type: oneOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).nullish(),
    clusterIP: clusterIPSchema.nullish(),
    clusterIPs: arr(clusterIPSchema).nullish(),
    ipFamilies: arr(oneOf(['IPv4', 'IPv6'])).nullish(),
    ports: arr(servicePortSchema).nullish(),
    selector: labelsSchema.nullish(),
    externalIPs: arr(ipSchema).nullish(),
    loadBalancerSourceRanges: arr(cidrSchema).nullish(),
    externalTrafficPolicy: oneOf(['Cluster', 'Local']).nullish(),
    internalTrafficPolicy: oneOf(['Cluster', 'Local']).nullish(),
    sessionAffinity: oneOf(['None', 'ClientIP']).nullish(),
    sessionAffinityConfig: obj({ clientIP: obj({ timeoutSeconds: intIn(1, 86400).nullish() }).nullish() }).nullish(),
    healthCheckNodePort: intIn(0, 65535).nullish(),
    externalName: str.nullish(),
    publishNotReadyAddresses: bool.nullish(),
    allocateLoadBalancerNodePorts: bool.nullish(),
  }).nullish(),
  status: obj({
    loadBalancer: obj({ ingress: arr(obj({ ip: ipSchema.nullish(), hostname: str.nullish() })).nullish() }).nullish(),
  }).nullish(),
});

const endpointSliceSchema = obj({
  metadata: metadataSchema,
  addressType: oneOf(['IPv4', 'IPv6', 'FQDN']),
  endpoints: arr(
    obj({
      addresses: arr(str).min(1, { error: 'must hold at least one address' }),
      conditions: obj({ ready: bool.nullish(), serving: bool.nullish(), terminating: bool.nullish() }).nullish(),
      nodeName: str.nullish(),
      zone: str.nullish(),
      hostname: str.nullish(),
      targetRef: obj({ kind: str.nullish(), name: str.nullish(), namespace: str.nullish() }).nullish(),
    }),
  ).nullish(),
  ports: arr(obj({ name: str.nullish(), protocol: protocolSchema.nullish(), port: portNumber.nullish() })).nullish(),
});

const podSchema = obj({
  metadata: metadataSchema,
  spec: obj({
    nodeName: str.nullish(),
    hostname: str.nullish(),
    subdomain: str.nullish(),
    containers: arr(
      obj({
        ports: arr(obj({ name: str.nullish(), containerPort: portNumber, protocol: protocolSchema.nullish() })).nullish(),
      }),
    ).nullish(),
  }).nullish(),
  status: obj({
    phase: oneOf(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).nullish(),
    podIP: ipSchema.nullish(),
    podIPs: arr(obj({ ip: ipSchema })).nullish(),
    conditions: arr(obj({ type: str, status: str.nullish() })).nullish(),
  }).nullish(),
});

const ingressBackendSchema = obj({
  service: obj({
    name: str.min(1, { error: 'must not be empty' }),
    port: obj({ number: portNumber.nullish(), name: str.nullish() }).nullish(),
  }).nullish(),
  resource: z.unknown().optional(),
});

const ingressSchema = obj({
  metadata: metadataSchema,
  spec: obj({
    ingressClassName: str.nullish(),
    defaultBackend: ingressBackendSchema.nullish(),
    rules: arr(
      obj({
        host: str.nullish(),
        http: obj({
          paths: arr(
            obj({
              path: str.nullish(),
              pathType: oneOf(['Prefix', 'Exact', 'ImplementationSpecific']).nullish(),
              backend: ingressBackendSchema,
            }),
          ),
        }).nullish(),
      }),
    ).nullish(),
  }).nullish(),
});

const nodeSchema = obj({
  metadata: metadataSchema,
  spec: obj({ podCIDR: str.nullish(), podCIDRs: arr(str).nullish() }).nullish(),
  status: obj({ addresses: arr(obj({ type: str, address: str })).nullish() }).nullish(),
});

// ---------------------------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------------------------

type Kind = 'Service' | 'EndpointSlice' | 'Pod' | 'Ingress' | 'Node';

/** The apiVersion each known kind must have. */
const API_VERSION: Record<Kind, string> = {
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Pod: 'v1',
  Ingress: 'networking.k8s.io/v1',
  Node: 'v1',
};

const NAMESPACED: Record<Kind, boolean> = { Service: true, EndpointSlice: true, Pod: true, Ingress: true, Node: false };

/** `spec.ports[0].port`, `metadata.labels["kubernetes.io/service-name"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const s = String(p);
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out === '' ? s : `.${s}`;
      else out += `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where an object came from, for error messages and duplicates. */
interface Origin {
  file: string;
  /** `document 3` or `document 1 items[4]` */
  where: string;
}

class Accumulator {
  readonly services: Service[] = [];
  readonly ipv6OnlyServices: Service[] = [];
  readonly slices: EndpointSlice[] = [];
  readonly pods: Pod[] = [];
  readonly ingresses: Ingress[] = [];
  readonly nodes: NodeInfo[] = [];
  readonly skipped: SkippedObject[] = [];
  /** "Kind ns/name" -> where it was first seen */
  private readonly seen = new Map<string, Origin>();
  /** Services whose cluster IP, node ports or health check port are still to be allocated. */
  private readonly pending: { svc: Service; allocateNodePorts: boolean; label: string }[] = [];

  addObject(raw: unknown, file: string, where: string): void {
    if (raw === null || raw === undefined) return;
    if (!isRecord(raw)) {
      throw new InputError(`${file}: ${where}`, `not a Kubernetes object (expected a mapping with apiVersion and kind, got ${show(raw)})`);
    }
    const kind = raw['kind'];
    if (typeof kind !== 'string' || kind === '') {
      throw new InputError(`${file}: ${where}`, `kind: required (not a Kubernetes object)`);
    }
    if (kind === 'List' || (kind.endsWith('List') && Array.isArray(raw['items']))) {
      const items = raw['items'];
      if (items === null || items === undefined) return;
      if (!Array.isArray(items)) throw new InputError(`${file}: ${where} (${kind})`, `items: must be a list (got ${show(items)})`);
      // typed lists (ServiceList) from the API carry no kind/apiVersion in their items
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      items.forEach((item, i) => {
        let it = item;
        if (itemKind !== undefined && isRecord(item) && item['kind'] === undefined) {
          it = { apiVersion: raw['apiVersion'], kind: itemKind, ...item };
        }
        this.addObject(it, file, `${where} items[${i}]`);
      });
      return;
    }
    if (!(kind in API_VERSION)) {
      this.skipped.push({ file, where, kind, name: rawName(raw), reason: 'kind not modelled' });
      return;
    }
    this.addKnown(kind as Kind, raw, { file, where });
  }

  private addKnown(kind: Kind, raw: Record<string, unknown>, origin: Origin): void {
    const { file, where } = origin;
    // the object's label: "Service ns/name" once its name is known, else "document 3 (Service)"
    const meta = raw['metadata'];
    const name = isRecord(meta) && typeof meta['name'] === 'string' && meta['name'] !== '' ? meta['name'] : '';
    const nsRaw = isRecord(meta) ? meta['namespace'] : undefined;
    const namespace = typeof nsRaw === 'string' && nsRaw !== '' ? nsRaw : 'default';
    const label = name === '' ? `${where} (${kind})` : NAMESPACED[kind] ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
    const fail: (path: readonly PropertyKey[], reason: string) => never = (path, reason) => {
      const p = formatPath(path);
      throw new InputError(`${file}: ${label}${p === '' ? '' : `: ${p}`}`, reason);
    };

    const apiVersion = raw['apiVersion'];
    if (apiVersion !== API_VERSION[kind]) {
      if (apiVersion === undefined || apiVersion === null) fail(['apiVersion'], `required (${API_VERSION[kind]} for a ${kind})`);
      fail(['apiVersion'], `${show(apiVersion)} is not supported for a ${kind}; expected ${API_VERSION[kind]}`);
    }
    if (!isRecord(meta)) fail(['metadata'], meta === undefined || meta === null ? 'required' : `must be a mapping (got ${show(meta)})`);
    const rawNameValue = (meta as Record<string, unknown>)['name'];
    if (name === '')
      fail(
        ['metadata', 'name'],
        rawNameValue === undefined || rawNameValue === null ? 'required' : `must be a non-empty string (got ${show(rawNameValue)})`,
      );
    const nameRule = kind === 'Service' ? DNS1035_LABEL : DNS1123_SUBDOMAIN;
    if (!nameRule.test(name)) {
      fail(
        ['metadata', 'name'],
        `${show(name)} is not a valid ${kind} name (${kind === 'Service' ? "a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, at most 63" : "a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'"})`,
      );
    }
    if (
      NAMESPACED[kind] &&
      nsRaw !== undefined &&
      nsRaw !== null &&
      (typeof nsRaw !== 'string' || (nsRaw !== '' && !DNS1123_LABEL.test(nsRaw)))
    ) {
      fail(['metadata', 'namespace'], `${show(nsRaw)} is not a valid namespace (a DNS-1123 label)`);
    }

    const schema = { Service: serviceSchema, EndpointSlice: endpointSliceSchema, Pod: podSchema, Ingress: ingressSchema, Node: nodeSchema }[
      kind
    ];
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      const first = issues[0]!;
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
      fail(first.path, `${first.message}${more}`);
    }
    const key = NAMESPACED[kind] ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
    const prev = this.seen.get(key);
    if (prev !== undefined) fail([], `defined twice (first in ${prev.file}: ${prev.where})`);
    this.seen.set(key, origin);
    const ctx: ConvertCtx = {
      namespace,
      name,
      fail,
      skip: (reason) => this.skipped.push({ file, where, kind, name: NAMESPACED[kind] ? `${namespace}/${name}` : name, reason }),
    };
    switch (kind) {
      case 'Service': {
        const r = toService(parsed.data as z.infer<typeof serviceSchema>, ctx);
        if (r !== null && r.ipv6Only) {
          ctx.skip('IPv6-only service (the cluster model is IPv4; rendered for the IPv6 family only)');
          this.ipv6OnlyServices.push(r.svc);
          this.pending.push({ svc: r.svc, allocateNodePorts: r.allocateNodePorts, label: `${file}: ${label}` });
        } else if (r !== null) {
          this.services.push(r.svc);
          this.pending.push({ svc: r.svc, allocateNodePorts: r.allocateNodePorts, label: `${file}: ${label}` });
        }
        return;
      }
      case 'EndpointSlice':
        this.slices.push(toEndpointSlice(parsed.data as z.infer<typeof endpointSliceSchema>, ctx));
        return;
      case 'Pod':
        this.pods.push(toPod(parsed.data as z.infer<typeof podSchema>, ctx));
        return;
      case 'Ingress':
        this.ingresses.push(toIngress(parsed.data as z.infer<typeof ingressSchema>, ctx));
        return;
      case 'Node':
        this.nodes.push(toNode(parsed.data as z.infer<typeof nodeSchema>, ctx));
        return;
    }
  }

  /** Allocates cluster IPs and node ports as the API server would, then hands out the result. */
  finish(opts: LoadOptions): LoadedManifests {
    const serviceCIDR = opts.serviceCIDR ?? DEFAULT_CLUSTER.serviceCIDR;
    const [lo, hi] = opts.nodePortRange ?? DEFAULT_CLUSTER.nodePortRange;
    const ips = new IpAllocator(serviceCIDR, 11);
    const svcRange = parseCidr(serviceCIDR);
    const usedPorts = new Set<number>();
    const claimedIPs = new Map<string, string>();
    for (const { svc, label } of this.pending) {
      if (svc.clusterIP !== '' && svc.clusterIP !== 'None') {
        const other = claimedIPs.get(svc.clusterIP);
        if (other !== undefined) throw new InputError(`${label}: spec.clusterIP`, `${svc.clusterIP} is already the cluster IP of ${other}`);
        claimedIPs.set(svc.clusterIP, label.replace(/^.*: /, ''));
        if (cidrContains(svcRange, svc.clusterIP)) ips.claim(svc.clusterIP);
      }
      svc.ports.forEach((p, i) => {
        if (p.nodePort === 0) return;
        if (usedPorts.has(p.nodePort))
          throw new InputError(`${label}: spec.ports[${i}].nodePort`, `${p.nodePort} is already allocated to another service`);
        usedPorts.add(p.nodePort);
      });
      if (svc.healthCheckNodePort !== 0) usedPorts.add(svc.healthCheckNodePort);
    }
    let next = lo;
    const allocPort = (label: string): number => {
      for (let tries = 0; tries <= hi - lo; tries++) {
        const p = next;
        next = p >= hi ? lo : p + 1;
        if (!usedPorts.has(p)) {
          usedPorts.add(p);
          return p;
        }
      }
      throw new InputError(label, `node port range ${lo}-${hi} is exhausted`);
    };
    for (const { svc, allocateNodePorts, label } of this.pending) {
      if (svc.type === 'ExternalName') continue;
      // an IPv6-only service (ipv6 set, no IPv4 cluster IP) gets no IPv4 address
      if (svc.clusterIP === '' && svc.ipv6 === undefined) {
        try {
          svc.clusterIP = ips.allocate();
        } catch {
          throw new InputError(label, `service CIDR ${serviceCIDR} has no cluster IP left`);
        }
      }
      if (svc.type === 'NodePort' || (svc.type === 'LoadBalancer' && allocateNodePorts)) {
        svc.ports = svc.ports.map((p) => (p.nodePort !== 0 ? p : { ...p, nodePort: allocPort(label) }));
      }
      if (svc.type === 'LoadBalancer' && svc.externalTrafficPolicy === 'Local' && svc.healthCheckNodePort === 0) {
        svc.healthCheckNodePort = allocPort(label);
      }
    }
    return {
      services: this.services,
      ipv6OnlyServices: this.ipv6OnlyServices,
      slices: this.slices,
      pods: this.pods,
      ingresses: this.ingresses,
      nodes: this.nodes,
      skipped: this.skipped,
    };
  }
}

function rawName(raw: Record<string, unknown>): string {
  const meta = raw['metadata'];
  if (!isRecord(meta) || typeof meta['name'] !== 'string') return '';
  return typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? `${meta['namespace']}/${meta['name']}` : meta['name'];
}

interface ConvertCtx {
  namespace: string;
  name: string;
  fail: (path: readonly PropertyKey[], reason: string) => never;
  skip: (reason: string) => void;
}

function toService(
  o: z.infer<typeof serviceSchema>,
  ctx: ConvertCtx,
): { svc: Service; allocateNodePorts: boolean; ipv6Only: boolean } | null {
  const { fail } = ctx;
  const spec = o.spec ?? {};
  const type = spec.type ?? 'ClusterIP';

  // cluster IP: the IPv4 one of clusterIPs (a single-stack IPv4 kube-proxy's view); the IPv6 one kept beside it
  let clusterIP = '';
  let clusterIPv6 = '';
  let ipv6Only = false;
  if (type !== 'ExternalName') {
    const ipsGiven = spec.clusterIPs ?? [];
    if (
      spec.clusterIP != null &&
      spec.clusterIP !== '' &&
      ipsGiven.length > 0 &&
      ipsGiven[0] !== spec.clusterIP &&
      (ipsGiven[0] === 'None' || spec.clusterIP === 'None' || parseIPSloppy(ipsGiven[0]!)?.text !== parseIPSloppy(spec.clusterIP)?.text)
    ) {
      fail(['spec', 'clusterIPs', 0], `must equal spec.clusterIP (${spec.clusterIP}), got ${show(ipsGiven[0])}`);
    }
    const all = ipsGiven.length > 0 ? ipsGiven : spec.clusterIP != null && spec.clusterIP !== '' ? [spec.clusterIP] : [];
    if (all[0] === 'None') clusterIP = 'None';
    else if (all.length > 0) {
      const v4 = canonIPs(all)[0];
      clusterIPv6 = canonIPs(all, 'IPv6')[0] ?? '';
      if (v4 === undefined) ipv6Only = true;
      else clusterIP = v4;
    } else if (spec.ipFamilies != null && spec.ipFamilies.length > 0 && !spec.ipFamilies.includes('IPv4')) {
      // an IPv6-only service without a cluster IP: none is allocated here (the IPv6 service range is not modelled)
      ipv6Only = true;
    }
  }

  if (clusterIP === 'None' && type !== 'ClusterIP')
    fail(['spec', 'clusterIP'], `None (headless) is only valid for type ClusterIP, not ${type}`);
  const [npLo, npHi] = DEFAULT_CLUSTER.nodePortRange;
  const rawPorts = spec.ports ?? [];
  if (rawPorts.length === 0 && type !== 'ExternalName' && clusterIP !== 'None')
    fail(['spec', 'ports'], 'required: a service needs at least one port');
  const names = new Map<string, number>();
  const portProto = new Map<string, number>();
  const ports: ServicePort[] = rawPorts.map((p, i) => {
    const name = p.name ?? '';
    const protocol: Protocol = p.protocol ?? 'TCP';
    if (rawPorts.length > 1) {
      if (name === '') fail(['spec', 'ports', i, 'name'], 'required when a service has more than one port');
    }
    if (name !== '') {
      if (!IANA_SVC_NAME.test(name) && !DNS1123_LABEL.test(name))
        fail(['spec', 'ports', i, 'name'], `${show(name)} is not a valid port name (lower-case letters, digits and '-')`);
      const j = names.get(name);
      if (j !== undefined) fail(['spec', 'ports', i, 'name'], `duplicate port name ${show(name)} (also spec.ports[${j}])`);
      names.set(name, i);
    }
    const pp = `${p.port}/${protocol}`;
    const k = portProto.get(pp);
    if (k !== undefined) fail(['spec', 'ports', i], `duplicate port ${pp} (also spec.ports[${k}])`);
    portProto.set(pp, i);
    if (p.nodePort != null && p.nodePort !== 0) {
      if (type === 'ClusterIP' || type === 'ExternalName')
        fail(['spec', 'ports', i, 'nodePort'], `may not be set for a service of type ${type}`);
      if (p.nodePort < npLo || p.nodePort > npHi)
        fail(['spec', 'ports', i, 'nodePort'], `${p.nodePort} is not in the node port range ${npLo}-${npHi}`);
    }
    return { name, protocol, port: p.port, targetPort: p.targetPort ?? p.port, nodePort: p.nodePort ?? 0 };
  });

  const externalName = spec.externalName ?? '';
  if (type === 'ExternalName' && externalName === '') fail(['spec', 'externalName'], 'required for a service of type ExternalName');

  const selector = spec.selector != null && Object.keys(spec.selector).length > 0 ? { ...spec.selector } : null;
  const lbIPs = canonIPs((o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== ''));
  const sessionAffinity = spec.sessionAffinity ?? 'None';
  const svc = serviceWithDefaults({
    namespace: ctx.namespace,
    name: ctx.name,
    labels: { ...(o.metadata.labels ?? {}) },
    type,
    clusterIP,
    ports,
    selector,
    externalIPs: canonIPs(spec.externalIPs ?? []),
    loadBalancerIngressIPs: lbIPs,
    // kube-proxy: ParseCIDRSloppy(TrimSpace(range)), written as the masked network
    loadBalancerSourceRanges: (spec.loadBalancerSourceRanges ?? []).flatMap((r) => {
      const c = parseCIDRSloppy(r.trim());
      return c !== null && c.family === 'IPv4' ? [c.text] : [];
    }),
    externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster',
    internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
    sessionAffinity,
    sessionAffinityTimeoutSeconds: sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : 10800,
    healthCheckNodePort: spec.healthCheckNodePort ?? 0,
    externalName: type === 'ExternalName' ? externalName : '',
    publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
  });
  const ipv6Ranges = (spec.loadBalancerSourceRanges ?? []).flatMap((r) => {
    const c = parseCIDRSloppy(r.trim());
    return c !== null && c.family === 'IPv6' ? [c.text] : [];
  });
  if (clusterIPv6 !== '' || ipv6Only) {
    svc.ipv6 = {
      clusterIP: clusterIPv6,
      externalIPs: canonIPs(spec.externalIPs ?? [], 'IPv6'),
      loadBalancerIngressIPs: canonIPs(
        (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== ''),
        'IPv6',
      ),
      loadBalancerSourceRanges: ipv6Ranges,
    };
  }
  return { svc, allocateNodePorts: spec.allocateLoadBalancerNodePorts ?? true, ipv6Only };
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function toEndpointSlice(o: z.infer<typeof endpointSliceSchema>, ctx: ConvertCtx): EndpointSlice {
  const { fail } = ctx;
  const serviceName = o.metadata.labels?.[SERVICE_NAME_LABEL];
  if (serviceName === undefined || serviceName === '') {
    fail(['metadata', 'labels', SERVICE_NAME_LABEL], "required: the label naming the slice's Service");
  }
  const endpoints: Endpoint[] = (o.endpoints ?? []).map((e, i) => {
    const addresses = e.addresses.map((a, j) => {
      const canon = o.addressType === 'FQDN' ? (a !== '' ? a : null) : canonIP(a, o.addressType);
      if (canon === null)
        fail(
          ['endpoints', i, 'addresses', j],
          `must be an ${o.addressType === 'FQDN' ? 'FQDN' : `${o.addressType} address`} for addressType ${o.addressType} (got ${show(a)})`,
        );
      return canon!;
    });
    // API defaults: ready true when unset, serving as ready when unset, terminating false when unset
    const ready = e.conditions?.ready ?? true;
    const serving = e.conditions?.serving ?? ready;
    const terminating = e.conditions?.terminating ?? false;
    return {
      addresses,
      conditions: { ready, serving, terminating },
      nodeName: e.nodeName ?? '',
      zone: e.zone ?? '',
      hostname: e.hostname ?? '',
      podName: e.targetRef?.kind === 'Pod' ? (e.targetRef.name ?? '') : '',
    };
  });
  // a port without a number means "all ports"; kube-proxy ignores such ports
  const ports: EndpointPort[] = (o.ports ?? []).flatMap((p) =>
    p.port == null ? [] : [{ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }],
  );
  return { namespace: ctx.namespace, name: ctx.name, serviceName: serviceName!, addressType: o.addressType, endpoints, ports };
}

function toPod(o: z.infer<typeof podSchema>, ctx: ConvertCtx): Pod {
  const spec = o.spec ?? {};
  const containerPorts: ContainerPort[] = (spec.containers ?? []).flatMap((c) =>
    (c.ports ?? []).map((p) => ({ name: p.name ?? '', containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })),
  );
  const base = {
    namespace: ctx.namespace,
    name: ctx.name,
    labels: { ...(o.metadata.labels ?? {}) },
    nodeName: spec.nodeName ?? '',
    terminating: o.metadata.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null,
    hostname: spec.hostname ?? '',
    subdomain: spec.subdomain ?? '',
    containerPorts,
  };
  const st = o.status;
  // a manifest without status (as written by hand) describes a pod that is to run: Running and Ready
  if (st == null) return podWithDefaults(base);
  const phase: PodPhase = st.phase === 'Unknown' || st.phase == null ? 'Pending' : st.phase;
  const ips = [st.podIP ?? '', ...(st.podIPs ?? []).map((p) => p.ip)].filter((ip) => ip !== '');
  return podWithDefaults({
    ...base,
    phase,
    ready: (st.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    ip: canonIPs(ips)[0] ?? '',
  });
}

function toIngress(o: z.infer<typeof ingressSchema>, ctx: ConvertCtx): Ingress {
  const { fail } = ctx;
  const spec = o.spec ?? {};
  const backendPath = (
    b: z.infer<typeof ingressBackendSchema>,
    at: PropertyKey[],
    path: string,
    pathType: IngressPath['pathType'],
  ): IngressPath | null => {
    if (b.service == null) {
      if (b.resource === undefined || b.resource === null) fail(at, 'must name a service or a resource');
      return null; // a resource backend (e.g. a storage bucket): no service behind it
    }
    const port = b.service.port;
    const hasNum = port?.number != null;
    const hasName = port?.name != null && port.name !== '';
    if (hasNum === hasName) fail([...at, 'service', 'port'], 'must have exactly one of number and name');
    return { path, pathType, serviceName: b.service.name, servicePort: hasNum ? port!.number! : port!.name! };
  };
  const rules: IngressRule[] = (spec.rules ?? []).map((r, i) => ({
    host: r.host ?? '',
    paths: (r.http?.paths ?? []).flatMap((p, j) => {
      const ip = backendPath(
        p.backend,
        ['spec', 'rules', i, 'http', 'paths', j, 'backend'],
        p.path ?? '',
        p.pathType ?? 'ImplementationSpecific',
      );
      return ip === null ? [] : [ip];
    }),
  }));
  if (spec.defaultBackend != null) {
    const ip = backendPath(spec.defaultBackend, ['spec', 'defaultBackend'], '', 'ImplementationSpecific');
    if (ip !== null) rules.push({ host: '', paths: [ip] });
  }
  const classAnnotation = o.metadata.annotations?.['kubernetes.io/ingress.class'] ?? '';
  return { namespace: ctx.namespace, name: ctx.name, ingressClassName: spec.ingressClassName ?? classAnnotation, rules };
}

function toNode(o: z.infer<typeof nodeSchema>, ctx: ConvertCtx): NodeInfo {
  const addrs = o.status?.addresses ?? [];
  addrs.forEach((a, i) => {
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && parseIPSloppy(a.address) === null)
      ctx.fail(['status', 'addresses', i, 'address'], `must be an IP address for type ${a.type} (got ${show(a.address)})`);
  });
  [o.spec?.podCIDR ?? '', ...(o.spec?.podCIDRs ?? [])].forEach((c, i) => {
    if (c !== '' && !isCidr(c))
      ctx.fail(i === 0 ? ['spec', 'podCIDR'] : ['spec', 'podCIDRs', i - 1], `must be a CIDR such as 10.244.1.0/24 (got ${show(c)})`);
  });
  const internal = canonIPs(addrs.filter((a) => a.type === 'InternalIP').map((a) => a.address));
  const external = canonIPs(addrs.filter((a) => a.type === 'ExternalIP').map((a) => a.address));
  const podCIDRs = [o.spec?.podCIDR ?? '', ...(o.spec?.podCIDRs ?? [])].filter((c) => c !== '');
  const cidrOf = (family: IPFamily): string =>
    podCIDRs.flatMap((c) => {
      const p = parseCIDRSloppy(c.trim());
      return p !== null && p.family === family ? [p.text] : [];
    })[0] ?? '';
  const podCIDR = cidrOf('IPv4');
  const internal6 = canonIPs(
    addrs.filter((a) => a.type === 'InternalIP').map((a) => a.address),
    'IPv6',
  );
  const external6 = canonIPs(
    addrs.filter((a) => a.type === 'ExternalIP').map((a) => a.address),
    'IPv6',
  );
  const ipsV6 = internal6.length > 0 ? internal6 : external6;
  const podCIDRV6 = cidrOf('IPv6');
  const labels: Labels = o.metadata.labels ?? {};
  return {
    name: ctx.name,
    ips: internal.length > 0 ? internal : external,
    podCIDR,
    zone: labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? '',
    ...(ipsV6.length > 0 ? { ipsV6 } : {}),
    ...(podCIDRV6 !== '' ? { podCIDRV6 } : {}),
  };
}
