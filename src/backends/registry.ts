/**
 * The backend registry: every data plane the harness knows, one line each. A data plane is one folder under
 * src/backends/ holding its definition (options schema, metric catalogue, cost model, render outputs, factory);
 * the scenario schema, the CLI's --backend choices, the metric lookup and the README's table of backends are
 * derived from this list. Outside src/backends/, no file names a data plane.
 */
import type { Backend, BackendDefinition, BackendKind, ProxyNodeConfig } from '../types.js';
import { iptablesDefinition } from './iptables/definition.js';
import { ipvsDefinition } from './ipvs/definition.js';
import { ebpfDefinition } from './ebpf/definition.js';
import { nftablesDefinition } from './nftables/definition.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each definition has its own options type
export const BACKEND_DEFINITIONS: readonly BackendDefinition<any>[] = [
  iptablesDefinition,
  nftablesDefinition,
  ipvsDefinition,
  ebpfDefinition,
];

/** Every registered kind, in registry order. */
export const BACKEND_KINDS: readonly BackendKind[] = BACKEND_DEFINITIONS.map((d) => d.kind);

const BY_KIND = new Map(BACKEND_DEFINITIONS.map((d) => [d.kind, d]));

export function isBackendKind(kind: string): boolean {
  return BY_KIND.has(kind);
}

/** The definition of a kind; throws for a kind no line above registers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function backendDefinition(kind: BackendKind): BackendDefinition<any> {
  const d = BY_KIND.get(kind);
  if (d === undefined) throw new Error(`no backend '${kind}' is registered (known: ${BACKEND_KINDS.join(', ')})`);
  return d;
}

/** A backend of `kind` for a node, its options parsed (defaults filled in) by the definition's schema. */
export function createBackend(kind: BackendKind, node: ProxyNodeConfig, options: unknown = {}): Backend {
  const d = backendDefinition(kind);
  return d.create(node, d.optionsSchema.parse(options));
}
