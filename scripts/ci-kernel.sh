#!/usr/bin/env bash
# The quick kernel suite and its agreement check, for .ci/run (after scripts/ci-netfilter.sh):
#   kpbench kernel --quick      each data plane in the real kernel (private network namespaces), results/ci-kernel
#   kpbench calibrate --check   fit the cost model on those rows, then require the calibrated model to agree with
#                               them within 20% at every size (exit 1 otherwise)
#   held out                    kernel rows at 200, 1,500 and 4,000 services (not in the fit), checked against the
#                               same calibration
#   kpbench run --calibration   the quick model suite with that calibration (written, not gated: the committed
#                               baseline is for the default coefficients)
# Runs only where it can: root and network namespaces (checked by making one). Elsewhere it says why and exits 0,
# unless KPBENCH_REQUIRE_NETFILTER=1, when that is a failure (exit 1).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

say() { printf 'ci-kernel: %s\n' "$*" >&2; }
skip() {
  if [ "${KPBENCH_REQUIRE_NETFILTER:-}" = 1 ]; then say "required but unavailable: $*"; exit 1; fi
  say "skipped: $*"
  exit 0
}

[ "$(id -u)" = 0 ] || skip "not root (network namespaces need CAP_SYS_ADMIN)"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
probe="kpb-ci-probe-$$"
ip netns add "$probe" >/dev/null 2>&1 || skip "cannot create a network namespace here"
ip netns del "$probe" >/dev/null 2>&1

out=results/ci-kernel
set -e
npm run -s kpbench -- kernel --quick --out "$out"
# Kernel timings move with whatever else the machine does: a failed agreement check is measured once more before
# it counts. Twice beyond 20% is reported loudly but does not fail CI (KPBENCH_KERNEL_STRICT=1 makes it fail).
if ! npm run -s kpbench -- calibrate --from "$out" --out "$out/calibration.json" --check; then
  say "agreement check failed; measuring once more"
  npm run -s kpbench -- kernel --quick --out "$out"
  if ! npm run -s kpbench -- calibrate --from "$out" --out "$out/calibration.json" --check; then
    if [ "${KPBENCH_KERNEL_STRICT:-}" = 1 ]; then say "agreement check failed twice"; exit 1; fi
    say "WARNING: the calibrated model disagrees with this machine's kernel rows beyond 20% twice (noisy machine?): see $out/summary.md"
  fi
fi
# held out: the same calibration against kernel rows at sizes it was not fitted on (between the quick sweep's sizes
# and beyond its largest), reported like the check above
npm run -s kpbench -- kernel --quick --backend iptables-legacy iptables-nft nftables --services 200 1500 4000 --out "$out/heldout"
if ! npm run -s kpbench -- calibrate --from "$out" --out "$out/calibration.json" --check "$out/heldout"; then
  if [ "${KPBENCH_KERNEL_STRICT:-}" = 1 ]; then say "held-out agreement check failed"; exit 1; fi
  say "WARNING: the calibrated model disagrees beyond 20% at sizes it was not fitted on: see $out/heldout/summary.md"
fi
# its scaling checks were written for the committed coefficients: reported, not gating here
npm run -s kpbench -- run --quick --no-wall --calibration "$out/calibration.json" --out "$out/model" ||
  say "run --calibration: a scaling check of the scenarios does not hold with this machine's coefficients (see $out/model/summary.md)"
say "done: $out/summary.md, $out/calibration.json"
