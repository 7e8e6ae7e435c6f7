/**
 * kube-proxy release profiles: the iptables layout of the release a published measurement used.
 *
 * - `current`: today's proxier (pkg/proxy/iptables/proxier.go, v1.31+), the default, pinned byte for byte by
 *   test/iptables-upstream.test.ts.
 * - `v1.14` (Tigera's 2019 comparison) and `v1.6` (Huawei's KubeCon EU 2017 table): the layout before the
 *   masquerade rule moved into KUBE-SVC (v1.23), before KUBE-EXT/KUBE-SVL (v1.24), before today's large-cluster
 *   mode and before partial restores (MinimizeIPTablesRestore, v1.26 beta). Per service port, nat KUBE-SERVICES
 *   holds two rules: the KUBE-MARK-MASQ rule for off-cluster sources and the jump to KUBE-SVC-.
 *   What each was based on is in src/backends/iptables/README.md ("kube-proxy era profiles").
 */

export const KUBE_PROXY_PROFILES = ['current', 'v1.14', 'v1.6'] as const;
export type KubeProxyProfile = (typeof KUBE_PROXY_PROFILES)[number];

/** What differs between the profiles, as data. */
export interface ProfileFacts {
  /** Per-service KUBE-MARK-MASQ rule in KUBE-SERVICES (before v1.23), instead of first in KUBE-SVC-. */
  masqueradeInServices: boolean;
  /**
   * A service port without endpoints still gets its KUBE-SVC- (empty), KUBE-XLB- and KUBE-FW- chains and its nat
   * KUBE-SERVICES / KUBE-NODEPORTS rules, beside the filter REJECTs (the v1.5-v1.8 syncProxyRules; later releases
   * write only the REJECTs).
   */
  chainsWithoutEndpoints: boolean;
  /** Addresses written with /32 (utilproxy.ToCIDR, before v1.22). */
  slash32: boolean;
  /** Decimals of the statistic probability: "%0.5f" in v1.6 and v1.14, computeProbability's "%0.10f" today. */
  probabilityDecimals: 5 | 10;
  /**
   * KUBE-SVC- and KUBE-SEP- rules carry the `ns/svc:port` comment. From v1.12 (#65755) to v1.22 they had none:
   * appendServiceCommentLocked appended to its own copy of the argument slice, so the comment was always lost.
   */
  endpointComments: boolean;
  /**
   * v1.14's Local-policy extras: the KUBE-NODEPORTS `-s 127.0.0.0/8 -j KUBE-MARK-MASQ` rule before the jump to
   * KUBE-XLB-, and KUBE-XLB- session-affinity `recent` checks over the local endpoints (neither in v1.8).
   */
  localPolicyExtras: boolean;
  /** Above 1000 endpoints per-endpoint comments are left out, as today's proxier does (v1.23+). */
  largeClusterMode: boolean;
  /** MinimizeIPTablesRestore (partial restores, v1.26+). */
  partialRestores: boolean;
  /** filter chains kube-proxy declares in its restore input, in order (KUBE-FIREWALL aside). */
  filterDeclared: readonly string[];
  /** nat chains kube-proxy declares in its restore input, in order. */
  natDeclared: readonly string[];
}

const NAT_DECLARED = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'] as const;

export const PROFILE_FACTS: Readonly<Record<KubeProxyProfile, ProfileFacts>> = {
  current: {
    masqueradeInServices: false,
    chainsWithoutEndpoints: false,
    slash32: false,
    probabilityDecimals: 10,
    endpointComments: true,
    localPolicyExtras: false,
    largeClusterMode: true,
    partialRestores: true,
    filterDeclared: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'],
    natDeclared: NAT_DECLARED,
  },
  'v1.14': {
    masqueradeInServices: true,
    chainsWithoutEndpoints: false,
    slash32: true,
    probabilityDecimals: 5,
    endpointComments: false,
    localPolicyExtras: true,
    largeClusterMode: false,
    partialRestores: false,
    filterDeclared: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD'],
    natDeclared: NAT_DECLARED,
  },
  'v1.6': {
    masqueradeInServices: true,
    chainsWithoutEndpoints: true,
    slash32: true,
    probabilityDecimals: 5,
    endpointComments: true,
    localPolicyExtras: false,
    largeClusterMode: false,
    partialRestores: false,
    filterDeclared: ['KUBE-SERVICES'],
    natDeclared: NAT_DECLARED,
  },
};

export function profileFacts(p: KubeProxyProfile): ProfileFacts {
  return PROFILE_FACTS[p];
}
