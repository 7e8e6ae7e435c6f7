/**
 * Test support for the iptables backend (like kube-proxy's iptablestest package): building ServicePortInfo /
 * EndpointInfo directly, proxier_test.go's node conventions, and a port of its sortIPTablesRules, so that our
 * restore input can be compared with upstream's expected dumps (which are sorted the same way).
 */
import type { EndpointInfo, ProxyNodeConfig, ProxySnapshot, ServicePortInfo, Rng } from '../../types.js';
import { createIptablesBackend, type IptablesBackendOptions, type IptablesBackend } from './backend.js';

/** A service port with kube-proxy's defaults; `key` is derived from namespace/name/portName. */
export function svc(p: Partial<ServicePortInfo> & { namespace: string; name: string; clusterIP: string; port: number }): ServicePortInfo {
  const portName = p.portName ?? '';
  return {
    key: portName === '' ? `${p.namespace}/${p.name}` : `${p.namespace}/${p.name}:${portName}`,
    portName,
    protocol: 'TCP',
    type: 'ClusterIP',
    nodePort: 0,
    targetPort: p.port,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    stickyMaxAgeSeconds: 0,
    healthCheckNodePort: 0,
    ...p,
  };
}

/** A ready endpoint (conditions as an EndpointSlice with unset conditions means). */
export function ep(ip: string, port: number, o: Partial<EndpointInfo> = {}): EndpointInfo {
  return { ip, port, ready: true, serving: true, terminating: false, nodeName: '', zone: '', isLocal: false, ...o };
}

export function byEndpointString(a: EndpointInfo, b: EndpointInfo): number {
  const x = `${a.ip}:${a.port}`;
  const y = `${b.ip}:${b.port}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

export function snapshot(entries: Array<[ServicePortInfo, EndpointInfo[]]>): ProxySnapshot {
  const services = new Map<string, ServicePortInfo>();
  const endpoints = new Map<string, EndpointInfo[]>();
  for (const [s, eps] of entries) {
    services.set(s.key, s);
    endpoints.set(s.key, [...eps].sort(byEndpointString));
  }
  return { services, endpoints };
}

/** proxier_test.go's NewFakeProxier conventions: node 192.168.0.2 (+ .1.2, .99.11), pod CIDR 10.0.0.0/8. */
export const UPSTREAM_NODE: ProxyNodeConfig = {
  nodeName: 'test-node',
  nodeIPs: ['192.168.0.2', '192.168.1.2', '192.168.99.11'],
  clusterCIDR: '10.0.0.0/8',
  podCIDR: '10.0.0.0/24',
  localDetector: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
};

/** The fake proxier's host: mark "0x4000", no --random-fully, nfacct counters present, localhost NodePorts on. */
export function upstreamBackend(o: Partial<IptablesBackendOptions> = {}): IptablesBackend {
  return createIptablesBackend({ node: UPSTREAM_NODE, masqueradeMark: '0x4000', randomFully: false, nfacct: true, ...o });
}

/** A node with kube-proxy's real defaults (mark 0x00004000, --random-fully, nfacct). */
export const REAL_NODE: ProxyNodeConfig = {
  nodeName: 'node-1',
  nodeIPs: ['192.168.0.2'],
  clusterCIDR: '10.244.0.0/16',
  podCIDR: '10.244.1.0/24',
  localDetector: 'ClusterCIDR',
  masqueradeAll: false,
  masqueradeBit: 14,
  nodePortAddresses: [],
};

/** A scripted Rng: returns the given draws in turn (then 0.999...). */
export function scripted(draws: number[]): Rng {
  let i = 0;
  return { next: () => (i < draws.length ? draws[i++]! : 0.9999999) };
}

// ---------------------------------------------------------------------------------------------
// sortIPTablesRules, as in kube-proxy's pkg/proxy/iptables/proxier_test.go
// ---------------------------------------------------------------------------------------------

interface DumpChain {
  name: string;
  rules: string[];
}
interface DumpTable {
  name: string;
  chains: DumpChain[];
  /** "-X CHAIN" lines (kept after the rules, in order). */
  deletes: string[];
}

function parseDump(text: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let t: DumpTable | null = null;
  for (const line of text.split('\n')) {
    if (line === '' || line === 'COMMIT') continue;
    if (line.startsWith('*')) {
      t = { name: line.slice(1), chains: [], deletes: [] };
      tables.push(t);
    } else if (line.startsWith(':')) {
      t!.chains.push({ name: line.slice(1, line.indexOf(' ')), rules: [] });
    } else if (line.startsWith('-X ')) {
      t!.deletes.push(line);
    } else if (line.startsWith('-A ')) {
      const name = line.split(' ')[1]!;
      let c = t!.chains.find((x) => x.name === name);
      if (c === undefined) t!.chains.push((c = { name, rules: [] }));
      c.rules.push(line);
    }
  }
  return tables;
}

function commentOf(rule: string): string | null {
  const m = / --comment (?:"([^"]*)"|(\S+))/.exec(rule);
  if (m === null) return null;
  return m[1] ?? m[2] ?? null;
}

function serviceNameOfComment(c: string): string {
  const i = c.search(/[ :]/);
  return i < 0 ? c : c.slice(0, i);
}

/** Stable sort by the service name in the comment (rules without comments keep their place relative to others). */
function stableSortByService(rules: string[], lastFirst = false): string[] {
  const idx = rules.map((r, i) => ({ r, i }));
  idx.sort((a, b) => {
    if (lastFirst) {
      const al = commentOf(a.r)?.includes('must be the last rule') ?? false;
      const bl = commentOf(b.r)?.includes('must be the last rule') ?? false;
      if (al !== bl) return al ? 1 : -1;
    }
    const ca = commentOf(a.r);
    const cb = commentOf(b.r);
    if (ca !== null && cb !== null) {
      const na = serviceNameOfComment(ca);
      const nb = serviceNameOfComment(cb);
      if (na !== nb) return na < nb ? -1 : 1;
    }
    return a.i - b.i;
  });
  return idx.map((x) => x.r);
}

export function sortIPTablesRules(text: string): string {
  const tables = parseDump(text).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rank = (n: string): number => (n === 'KUBE-NODEPORTS' ? 0 : n === 'KUBE-SERVICES' ? 1 : n.startsWith('KUBE-') ? 2 : 3);
  const out: string[] = [];
  for (const t of tables) {
    t.chains.sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of t.chains) {
      if (c.name === 'KUBE-NODEPORTS') c.rules = stableSortByService(c.rules);
      if (c.name === 'KUBE-SERVICES') c.rules = stableSortByService(c.rules, t.name === 'nat');
    }
    out.push(`*${t.name}`);
    for (const c of t.chains) out.push(`:${c.name} - [0:0]`);
    for (const c of t.chains) out.push(...c.rules);
    out.push(...t.deletes);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

/** Lines of one chain of one table in a dump (restore input or iptables-save output). */
export function chainRules(text: string, table: string, chain: string): string[] {
  const t = parseDump(text).find((x) => x.name === table);
  return t?.chains.find((c) => c.name === chain)?.rules ?? [];
}
