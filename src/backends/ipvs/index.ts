/**
 * The IPVS data plane of kube-proxy (--proxy-mode=ipvs): IPVS virtual and real servers in a kernel model, the
 * ipsets and the fixed iptables rules kube-proxy keeps beside them, and the kube-ipvs0 dummy interface.
 */
import type { Backend } from '../../types.js';
import { IpvsProxier, type IpvsBackendOptions } from './proxier.js';

export { IpvsProxier } from './proxier.js';
export { ipvsDefinition } from './definition.js';
export { IPVS_METRICS } from './metrics.js';
export { IPVS_SCHEDULERS, IpvsOptions, type IpvsScheduler } from './options.js';
export type { IpvsBackendOptions, IpvsSyncDetail, IpvsSyncResult } from './proxier.js';
export { ADDRESS_MSG_BYTES, DEST_ATTR_BYTES, destMsgBytes, ipsetMsgBytes, serviceAttrBytes, serviceMsgBytes } from './proxier.js';
export { IpvsKernel, DEFAULT_TIMEOUTS, FLAG_PERSISTENT, svcHashKey } from './kernel.js';
export type { RealServer, VirtualService, SvcTableMode, Timeouts } from './kernel.js';
export { createScheduler, connOverhead, shHashKey, dhHashKey } from './schedulers.js';
export type { SchedDest, SchedulerState } from './schedulers.js';
export { Ipset, IpsetStore, IPSET_INFO, SET, jhash2 } from './ipset.js';
export type { IpsetInfo, IpsetType } from './ipset.js';
export { buildRules, IpvsRules, ipsetMatcher, KUBE_CHAINS, JUMPS } from './iptables.js';
export { desiredService, nodePortIPs } from './desired.js';
export type { DesiredService, DesiredVirtualServer } from './desired.js';

/** kube-proxy in IPVS mode on one node; `opts.scheduler` defaults to 'rr'. */
export function createIpvsBackend(opts: IpvsBackendOptions): Backend {
  return new IpvsProxier(opts);
}
