#!/usr/bin/env bash
# Installs what test/realtool-*.test.ts needs to load rendered rulesets into the real tools, when it is missing:
#   iptables (iptables-legacy-* and iptables-nft-*), ipset, iproute2 (ip netns), nfacct (kube-proxy's nfacct
#   counters must exist before rules that match on them load), ipvsadm, nftables (nft), bpftool (BPF maps of the
#   eBPF backend).
# Non-interactive (Debian/Ubuntu apt-get); safe to call when everything is there already (installs nothing then).
# Then checks that a private network namespace can be made and holds netfilter state, and says whether the kernel
# has IPVS (without it the ipvsadm round trip is skipped; the rest still runs).
#
# Exit status: 0 when the real-tool tests can run (so CI may set KPBENCH_REQUIRE_NETFILTER=1 for them); 1 when
# they cannot (not root, no apt-get, the install failed, no network namespaces): the tests then skip, unless
# KPBENCH_REQUIRE_NETFILTER=1 is set anyway.
set -u

say() { printf 'ci-netfilter: %s\n' "$*" >&2; }
fail_or_warn() {
  say "unavailable: $* (the real-tool tests will skip unless KPBENCH_REQUIRE_NETFILTER=1)"
  exit 1
}

# command -> Debian package
declare -A PKG=(
  [ip]=iproute2
  [iptables-legacy-restore]=iptables
  [iptables-legacy-save]=iptables
  [iptables-nft-restore]=iptables
  [iptables-nft-save]=iptables
  [ipset]=ipset
  [nfacct]=nfacct
  [ipvsadm]=ipvsadm
  [nft]=nftables
  [ip6tables-legacy-restore]=iptables
  [bpftool]=bpftool
)
# the tools live in /usr/sbin, which a non-login PATH may lack
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
# de-duplicate, keep stable order
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing: ${missing[*]}"
  [ "$(id -u)" = 0 ] || fail_or_warn "not root: cannot install ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || fail_or_warn "no apt-get: install ${missing[*]} by hand"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/ci-netfilter-apt.log 2>&1; then
    # the package lists may be missing or stale on a fresh machine
    apt-get update -q >>/tmp/ci-netfilter-apt.log 2>&1
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/ci-netfilter-apt.log 2>&1 ||
      { tail -n 20 /tmp/ci-netfilter-apt.log >&2; fail_or_warn "apt-get install ${missing[*]} failed"; }
  fi
fi

for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || fail_or_warn "$cmd still missing"
done
say "$(iptables-legacy-save --version 2>/dev/null | head -n1 || true); $(ipset --version 2>/dev/null | head -n1 || true); $(ip -V 2>/dev/null || true)"

# a private namespace, as the tests make them; deleted again whatever happens
[ "$(id -u)" = 0 ] || fail_or_warn "not root: the tests need root for network namespaces"
ns="kpbench-ci-probe-$$"
trap 'ip netns del "$ns" >/dev/null 2>&1 || true' EXIT
ip netns add "$ns" || fail_or_warn "ip netns add failed (no network namespaces here?)"
ip netns exec "$ns" iptables-legacy-save >/dev/null || fail_or_warn "iptables-legacy does not work in a network namespace"
ip netns exec "$ns" ipset list >/dev/null || fail_or_warn "ipset does not work in a network namespace"
ip netns exec "$ns" nfacct list >/dev/null || fail_or_warn "nfacct does not work in a network namespace"
ip netns exec "$ns" nft list ruleset >/dev/null || fail_or_warn "nftables does not work in a network namespace"
if ip netns exec "$ns" ipvsadm -L -n >/dev/null 2>&1; then
  say "kernel has IPVS: the ipvsadm round trip will run"
else
  say "kernel has no IPVS: the ipvsadm round trip will be skipped"
fi
say "ready"
