/**
 * Printing the LB maps as a Cilium node shows them.
 *
 * `cilium-dbg bpf lb list` (cilium/cilium cilium-dbg/cmd/bpf_lb_list.go, helpers.go TablePrinter): one row per
 * service-map entry keyed by Service4Key.String() "10.96.0.10:53/UDP (1)" ("/i" after the protocol for the
 * internal scope); the master (slot 0) reads "0.0.0.0:0 (<rev-NAT ID>) (0) [<flags>] " (ServiceFlags.String(),
 * a trailing blank where the L7 proxy port would go), a backend slot "10.244.1.1:80/TCP (<rev-NAT ID>) (<slot>)".
 * `--backends`: backend ID -> Backend4ValueV3.String() "TCP://10.244.1.1" (no port, as that version prints);
 * `--revnat`: rev-NAT ID -> "10.96.0.10:53". Go's tabwriter (min width 5, padding 3, blanks, every cell
 * tab-terminated, so the last column is padded too). Go iterates a map in random order; rows here are sorted by
 * address, port, protocol, scope and slot (IDs numerically), to make the output diffable.
 *
 * Raw: `bpftool map dump` of maps without BTF, "key: 0a 60 00 0a 00 35 01 00  11 00 00 00  value: ..." (hex
 * bytes, one extra blank after every 8th), "Found N elements"; entries sorted by key bytes (the kernel prints
 * hash buckets in its own order). The Maglev outer map shows its keys with the modelled inner map ids.
 */
import { formatIPv4 } from '../../net/ipv4.js';
import {
  encodeBackendKey,
  encodeBackendValue,
  encodeRevNatKey,
  encodeRevNatValue,
  encodeServiceKey,
  encodeServiceValue,
  flagsString,
  MAP_NAMES,
  protoName,
  SCOPE_INTERNAL,
  type ServiceKey,
} from './lbmaps.js';
import type { CiliumLb } from './reconciler.js';

export const SERVICE_ADDRESS_TITLE = 'SERVICE ADDRESS';
export const BACKEND_ADDRESS_TITLE = 'BACKEND ADDRESS (REVNAT_ID) (SLOT)';
export const ID_TITLE = 'ID';

/** Go text/tabwriter with Cilium's TablePrinter settings, for lines whose cells are all tab-terminated. */
export function tablePrinter(firstTitle: string, secondTitle: string, rows: readonly [string, string][]): string {
  const lines: string[][] = [[firstTitle, secondTitle], ...rows.map(([a, b]) => [a, b])];
  const minwidth = 5;
  const padding = 3;
  const widths = [0, 1].map((col) => Math.max(minwidth, ...lines.map((l) => [...l[col]!].length + padding)));
  return lines.map((l) => l.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join('') + '\n').join('');
}

export function serviceKeyString(k: ServiceKey): string {
  return `${formatIPv4(k.address)}:${k.port}/${protoName(k.proto)}${k.scope === SCOPE_INTERNAL ? '/i' : ''} (${k.slot})`;
}

function compareKeys(a: ServiceKey, b: ServiceKey): number {
  return (a.address >>> 0) - (b.address >>> 0) || a.port - b.port || a.proto - b.proto || a.scope - b.scope || a.slot - b.slot;
}

/** `cilium-dbg bpf lb list`. */
export function renderLbList(lb: CiliumLb): string {
  const entries = [...lb.services.values()].sort((x, y) => compareKeys(x.key, y.key));
  const rows: [string, string][] = entries.map(({ key, value }) => {
    let entry: string;
    if (key.slot === 0) entry = `0.0.0.0:0 (${value.revNat}) (0) [${flagsString(value.flags)}] `;
    else {
      const be = lb.backends.get(value.backendId);
      entry =
        be === undefined
          ? `backend ${value.backendId} not found`
          : `${formatIPv4(be.address)}:${be.port}/${protoName(be.proto)} (${value.revNat}) (${key.slot})`;
    }
    return [serviceKeyString(key), entry];
  });
  return tablePrinter(SERVICE_ADDRESS_TITLE, BACKEND_ADDRESS_TITLE, rows);
}

/** `cilium-dbg bpf lb list --backends`. */
export function renderBackendList(lb: CiliumLb): string {
  const rows: [string, string][] = [...lb.backends.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, v]) => [String(id), `${protoName(v.proto)}://${formatIPv4(v.address)}`]);
  return tablePrinter(ID_TITLE, BACKEND_ADDRESS_TITLE, rows);
}

/** `cilium-dbg bpf lb list --revnat`. */
export function renderRevNatList(lb: CiliumLb): string {
  const rows: [string, string][] = [...lb.revNat.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, v]) => [String(id), `${formatIPv4(v.address)}:${v.port}`]);
  return tablePrinter(ID_TITLE, BACKEND_ADDRESS_TITLE, rows);
}

/** The three listings, each under the command that prints it. */
export function renderCiliumLbList(lb: CiliumLb): string {
  return [
    '# cilium-dbg bpf lb list',
    renderLbList(lb),
    '# cilium-dbg bpf lb list --backends',
    renderBackendList(lb),
    '# cilium-dbg bpf lb list --revnat',
    renderRevNatList(lb),
  ].join('\n');
}

/** bpftool's hex form: "0a 60 00 01 01 bb 01 00  06 00 00 00". */
export function hexBytes(b: readonly number[]): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    if (i > 0) s += i % 8 === 0 ? '  ' : ' ';
    s += b[i]!.toString(16).padStart(2, '0');
  }
  return s;
}

function dump(entries: [number[], string][]): string {
  const sorted = entries.sort((a, b) => {
    for (let i = 0; i < Math.min(a[0].length, b[0].length); i++) if (a[0][i] !== b[0][i]) return a[0][i]! - b[0][i]!;
    return a[0].length - b[0].length;
  });
  const n = sorted.length;
  return sorted.map(([k, v]) => `key: ${hexBytes(k)}  ${v}\n`).join('') + `Found ${n} element${n === 1 ? '' : 's'}\n`;
}

/** `bpftool map dump pinned /sys/fs/bpf/tc/globals/<map>` for the service, backend, rev-NAT and Maglev maps. */
export function renderRaw(lb: CiliumLb): string {
  const pin = (m: string) => `# bpftool map dump pinned /sys/fs/bpf/tc/globals/${m}`;
  const svc = dump([...lb.services.values()].map((e) => [encodeServiceKey(e.key), `value: ${hexBytes(encodeServiceValue(e.value))}`]));
  const be = dump([...lb.backends.entries()].map(([id, v]) => [encodeBackendKey(id), `value: ${hexBytes(encodeBackendValue(v))}`]));
  const rn = dump([...lb.revNat.entries()].map(([id, v]) => [encodeRevNatKey(id), `value: ${hexBytes(encodeRevNatValue(v))}`]));
  const maglevIds = [...lb.maglev.keys()].sort((a, b) => a - b);
  const mg = dump(maglevIds.map((id, i) => [[(id >>> 8) & 255, id & 255], `inner_map_id: ${1000 + i}`]));
  return [pin(MAP_NAMES.services), svc, pin(MAP_NAMES.backends), be, pin(MAP_NAMES.revNat), rn, pin(MAP_NAMES.maglev), mg].join('\n');
}
