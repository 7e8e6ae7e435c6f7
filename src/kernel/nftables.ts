/**
 * nftables in kernel mode: plugs the nftables backend's transaction texts into `transactionPlan`. The nftables
 * backend is written on its own branch; until it is merged this build has none.
 */
import type { CaseCluster } from './cluster.js';
import type { DataPlanePlan } from './plan.js';

export const NFTABLES_AVAILABLE = false;

export function nftablesPlan(_cc: CaseCluster): DataPlanePlan {
  throw new Error('no nftables backend in this build');
}
