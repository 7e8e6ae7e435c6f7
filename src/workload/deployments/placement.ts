/**
 * The scheduler's placement: least-loaded schedulable node first (load = pods the controller keeps on the node,
 * terminating ones excluded), ties broken by the rng stream; cordoned nodes take no pods.
 */
import type { Stream } from '../../sim/rng.js';

/** Nodes by load, for O(1) least-loaded placement with random tie-breaks. */
export class Placement {
  readonly load = new Map<string, number>();
  private readonly buckets: string[][] = [];
  private readonly pos = new Map<string, number>();
  readonly schedulable = new Set<string>();
  private minHint = 0;

  has(node: string): boolean {
    return this.load.has(node);
  }

  addNode(node: string): void {
    if (!this.load.has(node)) this.load.set(node, 0);
    this.enable(node);
  }

  removeNode(node: string): void {
    this.disable(node);
    this.load.delete(node);
  }

  enable(node: string): void {
    if (!this.load.has(node) || this.schedulable.has(node)) return;
    this.schedulable.add(node);
    this.insert(node, this.load.get(node)!);
  }

  disable(node: string): void {
    if (!this.schedulable.has(node)) return;
    this.schedulable.delete(node);
    this.remove(node, this.load.get(node)!);
  }

  change(node: string, delta: number): void {
    const l = this.load.get(node);
    if (l === undefined) return;
    const nl = Math.max(0, l + delta);
    if (this.schedulable.has(node)) {
      this.remove(node, l);
      this.insert(node, nl);
    }
    this.load.set(node, nl);
  }

  /** A least-loaded schedulable node (ties by rng), or null. */
  pickLeast(rng: Stream): string | null {
    if (this.schedulable.size === 0) return null;
    for (let l = this.minHint; l < this.buckets.length; l++) {
      const b = this.buckets[l];
      if (b !== undefined && b.length > 0) {
        this.minHint = l;
        return b.length === 1 ? b[0]! : b[rng.int(b.length)]!;
      }
    }
    return null;
  }

  /** A least-loaded schedulable node among `nodes` (ties by rng, in the list's order), or null. */
  pickAmong(nodes: readonly string[], rng: Stream): string | null {
    let best = Number.POSITIVE_INFINITY;
    let ties: string[] = [];
    for (const n of nodes) {
      if (!this.schedulable.has(n)) continue;
      const l = this.load.get(n)!;
      if (l < best) {
        best = l;
        ties = [n];
      } else if (l === best && !ties.includes(n)) ties.push(n);
    }
    if (ties.length === 0) return null;
    return ties.length === 1 ? ties[0]! : ties[rng.int(ties.length)]!;
  }

  private insert(node: string, l: number): void {
    while (this.buckets.length <= l) this.buckets.push([]);
    const b = this.buckets[l]!;
    this.pos.set(node, b.length);
    b.push(node);
    if (l < this.minHint) this.minHint = l;
  }

  private remove(node: string, l: number): void {
    const b = this.buckets[l];
    const i = this.pos.get(node);
    if (b === undefined || i === undefined) return;
    const last = b.pop()!;
    if (last !== node) {
      b[i] = last;
      this.pos.set(last, i);
    }
    this.pos.delete(node);
  }
}
