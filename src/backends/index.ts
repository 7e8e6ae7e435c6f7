import type { Backend, BackendKind, BackendOptions } from '../types.js';
import { createIptablesBackend } from './iptables/index.js';
import { createIpvsBackend } from './ipvs/index.js';

/** Every data plane, by name: the one place a new backend is registered. */
export const BACKENDS: Record<BackendKind, (o: BackendOptions) => Backend> = {
  iptables: createIptablesBackend,
  ipvs: createIpvsBackend,
};

export function createBackend(kind: BackendKind, o: BackendOptions): Backend {
  return BACKENDS[kind](o);
}
