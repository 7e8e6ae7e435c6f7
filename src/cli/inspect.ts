import type { Command } from 'commander';
import { Cluster } from '../cluster/cluster.js';
import { EndpointsController } from '../cluster/endpoints.js';
import { ClusterDns } from '../cluster/dns.js';
import { IngressRouter } from '../cluster/ingress.js';
import { loadManifests } from '../cluster/manifests.js';
import { loadManifestCluster } from '../bench/build.js';
import { InputError } from '../errors.js';

function show(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/** A DNS name as a query or Host names it: 1-253 characters, labels of 1-63 letters, digits, '-' and '_' (a trailing dot allowed). */
function checkDnsName(what: string, name: string): void {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n === '') throw new InputError(what, 'must not be empty');
  if (n.length > 253) throw new InputError(what, `is ${n.length} characters, more than the 253 of a DNS name`);
  for (const label of n.split('.')) {
    if (label === '' || label.length > 63 || !/^[A-Za-z0-9_*]([-A-Za-z0-9_]*[A-Za-z0-9_])?$/.test(label)) {
      throw new InputError(what, `'${show(name)}' is not a DNS name (labels of 1 to 63 letters, digits and '-', separated by dots)`);
    }
  }
}

/** A cluster built from manifests, with its endpoints controller (slices derived from pods where none are given). */
function clusterFrom(files: string[]): { cluster: Cluster; endpoints: EndpointsController } {
  if (files.length === 0) throw new InputError('--manifests', 'at least one manifest file is required');
  const cluster = new Cluster();
  const endpoints = new EndpointsController(cluster);
  loadManifestCluster(cluster, loadManifests(files));
  return { cluster, endpoints };
}

export function register(program: Command): void {
  program
    .command('dns')
    .description('Resolve a name as the cluster DNS would, in a cluster built from manifests (A records, CNAME for ExternalName)')
    .argument('<name>', 'e.g. web.default.svc.cluster.local, or a short name with --namespace')
    .requiredOption('--manifests <file...>', 'Kubernetes YAML/JSON files')
    .option('--namespace <ns>', 'resolve as a pod in this namespace would (search path)')
    .action((name: string, o: { manifests: string[]; namespace?: string }) => {
      checkDnsName('name', name);
      if (o.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.namespace)) {
        throw new InputError('--namespace', `'${show(o.namespace)}' is not a namespace name (a DNS-1123 label)`);
      }
      const { cluster, endpoints } = clusterFrom(o.manifests);
      const a = new ClusterDns(cluster, endpoints).resolve(name, o.namespace);
      process.stdout.write(`;; ${a.rcode}\n`);
      for (const r of a.answers)
        process.stdout.write(r.type === 'A' ? `${r.name}.\t30\tIN\tA\t${r.ip}\n` : `${r.name}.\t30\tIN\tCNAME\t${r.target}.\n`);
      if (a.rcode === 'NXDOMAIN') process.exitCode = 1;
    });
  program
    .command('route')
    .description('Route a request (host, path) through the Ingress objects of every namespace, in a cluster built from manifests')
    .requiredOption('--manifests <file...>', 'Kubernetes YAML/JSON files')
    .requiredOption('--host <host>', 'the request Host')
    .option('--path <path>', 'the request path', '/')
    .option('--ingress-class <name>', 'serve only Ingresses of this class')
    .action((o: { manifests: string[]; host: string; path: string; ingressClass?: string }) => {
      // a Host header: a DNS name or an IPv4 address, with an optional :port (an IPv6 literal in brackets never matches a rule)
      const hp = /^(.*?)(?::(\d{1,5}))?$/.exec(o.host)!;
      if (hp[2] !== undefined && (Number(hp[2]) < 1 || Number(hp[2]) > 65535))
        throw new InputError('--host', `port ${hp[2]} is not from 1 to 65535`);
      if (!/^\[[0-9a-fA-F:.]+\](:\d{1,5})?$/.test(o.host)) checkDnsName('--host', hp[1]!);
      // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      if (!o.path.startsWith('/') || /[\s\x00-\x1f]/.test(o.path))
        throw new InputError('--path', `must start with '/' and hold no blanks, got '${show(o.path)}'`);
      if (o.ingressClass !== undefined && o.ingressClass.trim() === '') throw new InputError('--ingress-class', 'must not be empty');
      const { cluster } = clusterFrom(o.manifests);
      const r = new IngressRouter(cluster, o.ingressClass === undefined ? {} : { ingressClassName: o.ingressClass }).route(o.host, o.path);
      if (r === null) {
        process.stdout.write(`no route for ${o.host}${o.path} (404)\n`);
        process.exitCode = 1;
        return;
      }
      const port = r.port.name === '' ? String(r.port.port) : `${r.port.name}/${r.port.port}`;
      process.stdout.write(
        `${o.host}${o.path} -> ingress ${r.ingress} (${r.match.pathType} ${r.match.path || '/'}) -> service ${r.service.namespace}/${r.service.name} ${r.service.clusterIP}:${r.port.port} (port ${port})\n`,
      );
    });
}
