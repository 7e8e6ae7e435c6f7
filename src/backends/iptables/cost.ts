import type { CoefficientSet } from '../../types.js';
import { IPTABLES_RESTORE_COEFFICIENTS, IPTABLES_WALK_COEFFICIENTS } from '../../netfilter/cost.js';

/**
 * Cost coefficients of kube-proxy's iptables mode, per iptables flavour. `kpbench kernel` then `kpbench calibrate`
 * measure them on the user's machine (`kpbench run --calibration FILE`); these are the committed defaults.
 *
 * - legacy: src/netfilter/cost.ts (linear terms), no quadratic term and no fixed first-packet part by default, so
 *   the committed baseline's modelled rows stay as they were.
 * - nft (iptables-nft over nf_tables): measured here with `kpbench kernel scaling --quick` (this project's 2-core
 *   machine, kernel 6.18, iptables 1.8.9, heavily shared: load 10-20, so read them as upper bounds) and fitted with
 *   `kpbench calibrate`: a full load of kpbench's own rendered ruleset grows faster than linearly (0.19 s at 3,200
 *   rules, 1.6 s at 32,000, 6.7-10 s at 96,000), a partial restore costs little per rule in the kernel (nf_tables
 *   changes only the rules written) and a first packet walks at ~12 ns per rule.
 */
const SQUARED_ZERO: CoefficientSet = {
  perKiloRuleWrittenSquared: { value: 0, unit: 's/(1000 rules)^2', source: 'default 0 (linear model); kpbench calibrate fits it' },
  perKiloRuleInKernelSquared: { value: 0, unit: 's/(1000 rules)^2', source: 'default 0 (linear model); kpbench calibrate fits it' },
  firstPacketFixed: { value: 0, unit: 's/packet', source: 'default 0: the model times classification only; a calibration from first-packet round trips sets it' },
};

export const IPTABLES_LEGACY_COEFFICIENTS: CoefficientSet = { ...IPTABLES_RESTORE_COEFFICIENTS, ...SQUARED_ZERO, ...IPTABLES_WALK_COEFFICIENTS };

export const IPTABLES_NFT_COEFFICIENTS: CoefficientSet = {
  restoreFixed: { value: 30e-3, unit: 's/restore', source: 'measured (iptables-nft, netns, kpbench kernel --quick, loaded machine): fitted fixed part' },
  perRuleWritten: { value: 40e-6, unit: 's/rule', source: 'measured (iptables-nft, netns, kpbench kernel --quick, loaded machine): full loads 3k-96k rules' },
  perRuleInKernel: { value: 1.5e-6, unit: 's/rule', source: 'measured (iptables-nft, netns, kpbench kernel --quick, loaded machine): partial restores' },
  perKiloRuleWrittenSquared: { value: 0.4e-3, unit: 's/(1000 rules)^2', source: 'measured (iptables-nft, netns, kpbench kernel --quick): full loads grow faster than linearly' },
  perKiloRuleInKernelSquared: { value: 0, unit: 's/(1000 rules)^2', source: 'measured: not distinguishable from the term above with these loads' },
  firstPacketFixed: { value: 0, unit: 's/packet', source: 'default 0: the model times classification only; a calibration from first-packet round trips sets it' },
  perRuleEvaluated: { value: 12e-9, unit: 's/rule', source: 'measured (iptables-nft, netns): first-packet round trips, last minus first service (DOMAIN.md §7, kpbench kernel)' },
};

export function iptablesCoefficients(flavor: 'legacy' | 'nft'): CoefficientSet {
  return flavor === 'nft' ? IPTABLES_NFT_COEFFICIENTS : IPTABLES_LEGACY_COEFFICIENTS;
}
