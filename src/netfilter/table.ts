/**
 * A netfilter table as a set of named chains: the built-in chains of its hooks (linux iptable_nat.c,
 * iptable_filter.c) and user chains, listed in iptables-save's order (built-in chains in hook order, then user
 * chains by name).
 */
import { Chain, type TableName } from './rule.js';
import { saveTable } from './save.js';

/** Built-in chains per table, in hook order. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** Chains in iptables-save order: built-in chains as given, then user chains sorted by name (code-unit order). */
export function saveOrder(chains: readonly Chain[]): Chain[] {
  const builtin = chains.filter((c) => c.builtin);
  const user = chains.filter((c) => !c.builtin);
  user.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...builtin, ...user];
}

export class Table {
  private readonly byName = new Map<string, Chain>();
  constructor(readonly name: TableName) {
    for (const b of BUILTIN_CHAINS[name]) this.byName.set(b, new Chain(b, name, true));
  }
  /** The chain, created (as a user chain) when the table does not have it yet. */
  ensure(name: string): Chain {
    let c = this.byName.get(name);
    if (c === undefined) this.byName.set(name, (c = new Chain(name, this.name, false)));
    return c;
  }
  chain(name: string): Chain {
    const c = this.byName.get(name);
    if (c === undefined) throw new RangeError(`no chain ${name} in table ${this.name}`);
    return c;
  }
  chains(): Chain[] {
    return [...this.byName.values()];
  }
  ruleCount(): number {
    let n = 0;
    for (const c of this.byName.values()) n += c.rules.length;
    return n;
  }
  /** This table as iptables-save prints it (appended to `out`). */
  /** `iptables-save` of the table (`ip6tables-save` for the IPv6 family). */
  save(out: string[], family: 'IPv4' | 'IPv6' = 'IPv4'): void {
    saveTable(this.name, saveOrder(this.chains()), out, family);
  }
}
