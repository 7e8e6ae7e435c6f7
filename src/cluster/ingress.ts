/**
 * One ingress controller's routing table, built from the Ingress objects of every namespace.
 *
 * The user's notes stress it: an Ingress in any namespace injects its rules into the one controller (there is no
 * namespace isolation of hosts); only the backend Service is looked up in the Ingress's own namespace.
 *
 * Matching, as the Ingress API (networking.k8s.io/v1) and the kubernetes.io Ingress concept page define it:
 * - Hosts are case-insensitive; the request's port (`host:8080`) and a trailing dot are ignored. A precise host
 *   matches equal host headers; a wildcard `*.foo.com` matches exactly one extra leading label (`bar.foo.com`, not
 *   `baz.bar.foo.com` nor `foo.com`); a rule with an empty host matches every host.
 * - Host precedence (what ingress-nginx does with its server blocks, and what Gateway API specifies): precise
 *   rules, then wildcard rules, then host-less rules. The most specific tier that has any rule for the host
 *   decides alone: a host with its own rules but no matching path is not handed to the catch-all rules (it gets
 *   the controller's default backend, here `null`).
 * - Paths: `Exact` compares the whole path, case-sensitively; `Prefix` compares `/`-separated elements (`/foo`
 *   matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`; a trailing slash in either is ignored; `/` matches
 *   everything); `ImplementationSpecific` is treated as `Prefix`; an empty path is `/`. The request's query
 *   string and fragment are ignored.
 * - Among matching paths the longest path (in characters, as written in the Ingress) wins; at equal length Exact
 *   beats Prefix.
 * - Conflicts (the same host tier, path and type in several Ingresses, or several times in one): the oldest
 *   Ingress wins (first created: the cluster's insertion order, which an update keeps and a delete/re-create
 *   resets, like metadata.creationTimestamp; ingress-nginx also keeps the oldest Ingress's location), then the
 *   first rule, then the first path in it.
 * - Ingress class: with `ingressClassName`, only Ingresses of that class are served (and those without a class
 *   when `watchIngressWithoutClass`, ingress-nginx's flag of the same name); without it, every Ingress is.
 */
import type { Ingress, IngressPath, Service, ServicePort } from '../types.js';
import type { Cluster } from './cluster.js';
import { objectKey } from './selector.js';

export interface IngressRouterOptions {
  /** Serve only Ingresses of this class; absent: serve every Ingress. */
  ingressClassName?: string;
  /** With `ingressClassName`, also serve Ingresses that have no class [false]. */
  watchIngressWithoutClass?: boolean;
}

/** A rule that matched, before its backend is looked up. */
export interface IngressMatch {
  /** "namespace/name" of the Ingress. */
  ingress: string;
  namespace: string;
  /** The rule's host as written ('' for a host-less rule, '*.foo.com' for a wildcard). */
  host: string;
  path: string;
  pathType: IngressPath['pathType'];
  serviceName: string;
  servicePort: number | string;
}

export interface IngressRoute {
  /** "namespace/name" of the Ingress whose rule matched. */
  ingress: string;
  service: Service;
  port: ServicePort;
  match: IngressMatch;
}

interface Entry {
  match: IngressMatch;
  /** Path as written ('' → '/'). */
  path: string;
  exact: boolean;
  /** Prefix elements. */
  elems: string[];
  /** Sort keys for precedence: creation order of the Ingress, rule index, path index. */
  order: number;
  rule: number;
  idx: number;
}

interface Table {
  exact: Map<string, Entry[]>;
  /** Keyed by the suffix after '*.' ("foo.com"). */
  wildcard: Map<string, Entry[]>;
  any: Entry[];
}

function pathElements(p: string): string[] {
  return p.split('/').filter((e) => e !== '');
}

/** Normalizes a Host header: lower case, without port and trailing dot. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h; // IPv6 literal: never matches a rule host
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** Whether an Ingress path matches a request path (Prefix element-wise, Exact exactly; ImplementationSpecific as Prefix). */
export function pathMatches(path: string, pathType: IngressPath['pathType'], requestPath: string): boolean {
  const req = stripQuery(requestPath);
  const p = path === '' ? '/' : path;
  if (pathType === 'Exact') return p === req;
  const pe = pathElements(p);
  const re = pathElements(req);
  if (pe.length > re.length) return false;
  for (let i = 0; i < pe.length; i++) if (pe[i] !== re[i]) return false;
  return true;
}

function stripQuery(p: string): string {
  let end = p.length;
  const q = p.indexOf('?');
  if (q >= 0) end = q;
  const f = p.indexOf('#');
  if (f >= 0 && f < end) end = f;
  const out = p.slice(0, end);
  return out === '' ? '/' : out;
}

/** Whether a rule host matches a normalized request host. */
export function hostMatches(ruleHost: string, host: string): boolean {
  const rh = ruleHost.toLowerCase();
  if (rh === '') return true;
  const h = normalizeHost(host);
  if (rh.startsWith('*.')) {
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot + 1) === rh.slice(2);
  }
  return rh === h;
}

/** Routes (host, path) to a Service port through the Ingress objects of the whole cluster. */
export class IngressRouter {
  private table: Table | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: IngressRouterOptions = {},
  ) {
    cluster.subscribe((ev) => {
      if (ev.kind === 'ingress') this.table = null;
    });
  }

  /** Whether this controller serves the Ingress (class filter). */
  serves(ing: Ingress): boolean {
    const cls = this.opts.ingressClassName;
    if (cls === undefined) return true;
    if (ing.ingressClassName === '') return this.opts.watchIngressWithoutClass === true;
    return ing.ingressClassName === cls;
  }

  /**
   * The route for a request: the matching rule's Service (looked up in the Ingress's namespace) and port (by
   * number or by name). null when no rule matches, or when the backend Service or port does not exist (the
   * controller would answer 404 or 503; `match` tells the two apart).
   */
  route(host: string, path: string): IngressRoute | null {
    const m = this.match(host, path);
    if (m === null) return null;
    const service = this.cluster.services.get(objectKey(m.namespace, m.serviceName));
    if (service === undefined) return null;
    const port =
      typeof m.servicePort === 'number'
        ? service.ports.find((p) => p.port === m.servicePort)
        : service.ports.find((p) => p.name === m.servicePort);
    if (port === undefined) return null;
    return { ingress: m.ingress, service, port, match: m };
  }

  /** The rule that wins for a request, or null when none matches. */
  match(host: string, path: string): IngressMatch | null {
    const t = this.compiled();
    const h = normalizeHost(host);
    let tier = t.exact.get(h);
    if (tier === undefined) {
      const dot = h.indexOf('.');
      if (dot > 0) tier = t.wildcard.get(h.slice(dot + 1));
    }
    if (tier === undefined) tier = t.any;
    const req = stripQuery(path);
    let best: Entry | null = null;
    for (const e of tier) {
      if (!this.entryMatches(e, req)) continue;
      if (best === null || better(e, best)) best = e;
    }
    return best === null ? null : best.match;
  }

  /** Every (host, path) rule this controller serves, in precedence-independent table order (for reports). */
  rules(): IngressMatch[] {
    const t = this.compiled();
    const out: IngressMatch[] = [];
    for (const l of t.exact.values()) for (const e of l) out.push(e.match);
    for (const l of t.wildcard.values()) for (const e of l) out.push(e.match);
    for (const e of t.any) out.push(e.match);
    return out;
  }

  private entryMatches(e: Entry, req: string): boolean {
    if (e.exact) return e.path === req;
    const re = pathElements(req);
    if (e.elems.length > re.length) return false;
    for (let i = 0; i < e.elems.length; i++) if (e.elems[i] !== re[i]) return false;
    return true;
  }

  private compiled(): Table {
    if (this.table !== null) return this.table;
    const t: Table = { exact: new Map(), wildcard: new Map(), any: [] };
    let order = 0;
    for (const ing of this.cluster.ingresses.values()) {
      const o = order++;
      if (!this.serves(ing)) continue;
      const ingKey = objectKey(ing.namespace, ing.name);
      ing.rules.forEach((rule, ri) => {
        const host = rule.host.toLowerCase();
        rule.paths.forEach((p, pi) => {
          const path = p.path === '' ? '/' : p.path;
          const entry: Entry = {
            match: {
              ingress: ingKey,
              namespace: ing.namespace,
              host: rule.host,
              path: p.path,
              pathType: p.pathType,
              serviceName: p.serviceName,
              servicePort: p.servicePort,
            },
            path,
            exact: p.pathType === 'Exact',
            elems: pathElements(path),
            order: o,
            rule: ri,
            idx: pi,
          };
          if (host === '') t.any.push(entry);
          else if (host.startsWith('*.')) push(t.wildcard, host.slice(2), entry);
          else push(t.exact, host, entry);
        });
      });
    }
    this.table = t;
    return t;
  }
}

function push(m: Map<string, Entry[]>, k: string, e: Entry): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [e]);
  else l.push(e);
}

/** Precedence: longer path, then Exact over Prefix, then older Ingress, earlier rule, earlier path. */
function better(a: Entry, b: Entry): boolean {
  if (a.path.length !== b.path.length) return a.path.length > b.path.length;
  if (a.exact !== b.exact) return a.exact;
  if (a.order !== b.order) return a.order < b.order;
  if (a.rule !== b.rule) return a.rule < b.rule;
  return a.idx < b.idx;
}
