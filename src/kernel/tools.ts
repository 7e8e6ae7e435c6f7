/**
 * What a kernel run needs, checked before anything is touched: root (network namespaces, netfilter), and each
 * tool with the Debian package that ships it. A missing one is one line naming the package or the privilege
 * (the CLI turns it into exit code 2).
 */
import { hasTool, run } from './exec.js';

/** What every kernel run needs (tool → Debian package); each data plane adds its own (its kernel support's tools). */
export const BASE_TOOLS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  nsenter: 'util-linux',
  python3: 'python3-minimal',
  chrt: 'util-linux',
};

/** A prerequisite is missing: the message names the package or the privilege. */
export class PrerequisiteError extends Error {
  override readonly name = 'PrerequisiteError';
}

/** Throws a PrerequisiteError naming the first missing privilege or package, for the given tools (→ packages). */
export function checkPrerequisites(tools: Readonly<Record<string, string>>): void {
  if (process.platform !== 'linux') throw new PrerequisiteError('kernel mode needs Linux network namespaces');
  if (process.getuid?.() !== 0)
    throw new PrerequisiteError('kernel mode needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, to create network namespaces)');
  for (const [t, pkg] of Object.entries(tools)) {
    if (!hasTool(t)) throw new PrerequisiteError(`${t} is missing: install the Debian package '${pkg}' (apt-get install ${pkg})`);
  }
}

/** Why real-tool work cannot run here (for tests and CI), or null. */
export function whyUnavailable(tools: Readonly<Record<string, string>>): string | null {
  try {
    checkPrerequisites(tools);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Version lines of the tools (for meta.json and calibration files); missing tools are left out. */
export function toolVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  const probe: Array<[string, string[]]> = [
    ['iptables-legacy', ['iptables-legacy', '--version']],
    ['iptables-nft', ['iptables-nft', '--version']],
    ['nft', ['nft', '--version']],
    ['ipset', ['ipset', '--version']],
    ['ip', ['ip', '-V']],
  ];
  for (const [name, cmd] of probe) {
    const r = run(cmd);
    if (r.code === 0) out[name] = (r.stdout || r.stderr).trim().split('\n')[0]!;
  }
  return out;
}
