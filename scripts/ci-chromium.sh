#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of report.html (test/report-browser.test.ts), when it is missing.
# Exit status: 0 when /usr/bin/chromium runs headless (CI then sets KPBENCH_REQUIRE_CHROMIUM=1, so the test may not
# skip); 1 when it cannot be had (the test then skips with a message).
set -u
say() { printf 'ci-chromium: %s\n' "$*" >&2; }
if ! command -v chromium >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { say "not root: cannot install chromium"; exit 1; }
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: install chromium by hand"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  say "installing chromium"
  if ! apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/tmp/ci-chromium-apt.log 2>&1; then
    apt-get update -q >>/tmp/ci-chromium-apt.log 2>&1
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >>/tmp/ci-chromium-apt.log 2>&1 ||
      { tail -n 20 /tmp/ci-chromium-apt.log >&2; say "apt-get install chromium failed"; exit 1; }
  fi
fi
chromium --version >&2 || { say "chromium does not start"; exit 1; }
say "ready"
