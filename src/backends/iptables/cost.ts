import type { CoefficientSet } from '../../types.js';
import { IPTABLES_RESTORE_COEFFICIENTS, IPTABLES_WALK_COEFFICIENTS } from '../../netfilter/cost.js';

/**
 * Cost coefficients of kube-proxy's iptables mode, per iptables flavour. `kpbench kernel` then `kpbench calibrate`
 * measure them on the user's machine (`kpbench run --calibration FILE`); these are the committed defaults.
 *
 * - legacy: src/netfilter/cost.ts (linear terms), no quadratic term and no fixed first-packet part by default, so
 *   the committed baseline's modelled rows stay as they were.
 * - nft (iptables-nft over nf_tables): measured here with `scripts/ci-kernel.sh` (`kpbench kernel scaling --quick`
 *   then `kpbench calibrate`; this project's 2-core machine, kernel 6.18, iptables 1.8.9, shared: load 12-15, so
 *   read them as upper bounds): a full load of kpbench's own rendered ruleset grows faster than linearly (0.12 s at
 *   3,200 rules, 1.4 s at 32,000, 4.6 s at 96,000), a partial restore costs little per rule in the kernel
 *   (nf_tables changes only the rules written: 0.04 s / 0.16 s / 0.36 s at 100 / 1,000 / 3,000 services) and a
 *   first packet walks at ~10-12 ns per rule. The fixed first-packet part stays 0 here (the model times
 *   classification); a calibration from round trips sets it.
 */
const SQUARED_ZERO: CoefficientSet = {
  perKiloRuleWrittenSquared: { value: 0, unit: 's/(1000 rules)^2', source: 'default 0 (linear model); kpbench calibrate fits it' },
  perKiloRuleInKernelSquared: { value: 0, unit: 's/(1000 rules)^2', source: 'default 0 (linear model); kpbench calibrate fits it' },
  firstPacketFixed: {
    value: 0,
    unit: 's/packet',
    source: 'default 0: the model times classification only; a calibration from first-packet round trips sets it',
  },
};

export const IPTABLES_LEGACY_COEFFICIENTS: CoefficientSet = {
  ...IPTABLES_RESTORE_COEFFICIENTS,
  ...SQUARED_ZERO,
  ...IPTABLES_WALK_COEFFICIENTS,
};

export const IPTABLES_NFT_COEFFICIENTS: CoefficientSet = {
  restoreFixed: {
    value: 25e-3,
    unit: 's/restore',
    source: 'measured (iptables-nft, netns, kpbench kernel --quick + calibrate, loaded machine): fitted fixed part',
  },
  perRuleWritten: {
    value: 32e-6,
    unit: 's/rule',
    source: 'measured (iptables-nft, netns, kpbench kernel --quick + calibrate, loaded machine): full loads 3k-96k rules',
  },
  perRuleInKernel: {
    value: 4e-6,
    unit: 's/rule',
    source: 'measured (iptables-nft, netns, kpbench kernel --quick + calibrate, loaded machine): partial restores',
  },
  perKiloRuleWrittenSquared: {
    value: 0.3e-3,
    unit: 's/(1000 rules)^2',
    source: 'measured (iptables-nft, netns, kpbench kernel --quick + calibrate): full loads grow faster than linearly',
  },
  perKiloRuleInKernelSquared: {
    value: 8e-6,
    unit: 's/(1000 rules)^2',
    source: 'measured (iptables-nft, netns, kpbench kernel --quick + calibrate)',
  },
  firstPacketFixed: {
    value: 0,
    unit: 's/packet',
    source: 'default 0: the model times classification only; a calibration from first-packet round trips sets it',
  },
  perRuleEvaluated: {
    value: 12e-9,
    unit: 's/rule',
    source:
      "measured (iptables-nft, netns): first-packet round trips, last minus first service (this project's namespace measurements, kpbench kernel)",
  },
};

export function iptablesCoefficients(flavor: 'legacy' | 'nft'): CoefficientSet {
  return flavor === 'nft' ? IPTABLES_NFT_COEFFICIENTS : IPTABLES_LEGACY_COEFFICIENTS;
}
