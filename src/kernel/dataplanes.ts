/**
 * The variants kernel mode can run: every registered backend that declares kernel support (its definition's
 * `kernel`), each of its variants, in registry order.
 */
import type { BackendKind } from '../types.js';
import { BACKEND_DEFINITIONS } from '../backends/registry.js';
import type { Variant } from './model.js';

/** A variant kernel mode can run: a registered kind, the options that select it, its tools. */
export interface KernelVariant extends Variant {
  /** Tool → Debian package. */
  tools: Record<string, string>;
  calibrates: boolean;
}

/** Every variant of every registered backend that declares kernel support, in registry order. */
export function kernelVariants(): KernelVariant[] {
  return BACKEND_DEFINITIONS.flatMap((d) =>
    (d.kernel?.variants ?? []).map((v) => ({
      name: v.name,
      kind: d.kind as BackendKind,
      options: { ...v.options },
      tools: { ...v.tools },
      calibrates: v.calibrates !== false,
    })),
  );
}
