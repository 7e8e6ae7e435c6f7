/**
 * The derived columns of metrics.csv, after the contract's eight
 * (`scenario,backend,services,endpoints_per_service,metric,statistic,value,unit`):
 *
 * - `kind`: how the number was obtained: counted / modelled / measured from the metric catalogue
 *   (`metricDef`), or `kernel` for real-kernel measurements (metric names starting with `kernel_`, or rows read
 *   with kind `kernel`).
 * - one column per swept field other than the number of services (which has its own column). The scenario
 *   column keeps the sweep point packed in as before (`tigera-2019@requestsPerConnection=1`, see
 *   src/scenario/load.ts) for compatibility; the extra columns unpack it, named by the field's last path segment
 *   as in the scenario id (`requestsPerConnection`), empty for rows of scenarios that do not sweep the field.
 *
 * Both are derived from a row's metric and scenario alone, so old eight-column files get them too.
 */
import { metricDef } from '../metrics/catalogue.js';
import type { MetricRow } from '../types.js';

/** The kinds of number a row can hold; `kernel` is measured on a real kernel (another level than `measured`). */
export type RowKind = 'counted' | 'modelled' | 'measured' | 'kernel';

/** A row, possibly read with an explicit kind (from a `kind` column that says other than the catalogue). */
export type KindedRow = MetricRow & { kind?: string };

/** The kind of a metric by name alone: `kernel_*` is kernel, else the catalogue's kind. */
export function metricKind(metric: string): string {
  if (metric.startsWith('kernel_')) return 'kernel';
  return metricDef(metric).kind;
}

/** The kind of a row: the kind it was read with, else by its metric's name. */
export function rowKind(r: Pick<KindedRow, 'metric' | 'kind'>): string {
  return r.kind !== undefined && r.kind !== '' ? r.kind : metricKind(r.metric);
}

/** Whether a row is a real-kernel measurement. */
export function isKernelRow(r: Pick<KindedRow, 'metric' | 'kind'>): boolean {
  return rowKind(r) === 'kernel';
}

/** The scenario name of a scenario id: the part before `@`. */
export function scenarioFamily(id: string): string {
  const at = id.indexOf('@');
  return at < 0 ? id : id.slice(0, at);
}

/**
 * The sweep point packed into a scenario id (`name@field=value,field2=value2`), as field → value text, in the
 * id's order; empty for an id without a sweep point.
 */
export function sweepPoint(id: string): Array<[string, string]> {
  const at = id.indexOf('@');
  if (at < 0) return [];
  const out: Array<[string, string]> = [];
  for (const part of id.slice(at + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

const RESERVED = new Set(['scenario', 'backend', 'services', 'endpoints_per_service', 'metric', 'statistic', 'value', 'unit', 'kind']);

/** The CSV column of a swept field: its name, or `sweep_<name>` where that would clash with another column. */
export function sweepColumn(field: string): string {
  return RESERVED.has(field) ? `sweep_${field}` : field;
}

/** The swept-field columns of a set of rows, in order of first appearance (scenario ids in row order). */
export function sweepColumns(rows: ReadonlyArray<Pick<MetricRow, 'scenario'>>): string[] {
  const seen = new Set<string>();
  const cols: string[] = [];
  for (const r of rows) {
    if (seen.has(r.scenario)) continue;
    seen.add(r.scenario);
    for (const [f] of sweepPoint(r.scenario)) {
      const c = sweepColumn(f);
      if (!cols.includes(c)) cols.push(c);
    }
  }
  return cols;
}
