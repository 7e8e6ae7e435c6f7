/**
 * YAML (and JSON) input parsed defensively, in time linear in the input:
 * - duplicate keys are found with one Set per mapping (the yaml library's own `uniqueKeys` check compares every
 *   pair of keys: 50,000 keys took 24 s), and reported with the key's line;
 * - nesting deeper than the depth limit, `__proto__` keys (no scenario or Kubernetes field has that name) and
 *   alias expansion beyond 100 nodes ("billion laughs") are refused;
 * - every problem is an InputError naming the file (and document, line) and the reason.
 */
import YAML, { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import { InputError } from '../errors.js';
import { limit, LIMIT_DEFS } from './limits.js';

export interface YamlOptions {
  /** Several documents allowed (Kubernetes manifests); otherwise a second document is an error. */
  multi?: boolean;
}

function keyText(k: unknown): string {
  if (isScalar(k)) return String(k.value);
  return String(k);
}

/** Walks a document's nodes without recursion: duplicate keys, __proto__ keys, depth. */
function checkNodes(doc: Document, where: string, lines: LineCounter): void {
  const maxDepth = limit('yamlDepth');
  const at = (n: { range?: [number, number, number] | null } | null | undefined): string => {
    const off = n?.range?.[0];
    if (off === undefined) return '';
    const p = lines.linePos(off);
    return ` (line ${p.line})`;
  };
  const stack: Array<{ node: unknown; depth: number; path: string }> = [{ node: doc.contents, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth >= maxDepth)
        throw new InputError(`${where}: ${path || '(top level)'}`, `nested deeper than ${maxDepth} levels (${LIMIT_DEFS.yamlDepth.env})`);
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const k = keyText(item.key);
        const child = path === '' ? k : `${path}.${k}`;
        if (k === '__proto__') throw new InputError(`${where}: ${child}`, `'__proto__' is not a field name${at(item.key as Node)}`);
        if (seen.has(k)) throw new InputError(`${where}: ${child}`, `duplicate key${at(item.key as Node)}`);
        seen.add(k);
        stack.push({ node: item.value, depth: depth + 1, path: child });
      }
    } else if (isSeq(node)) {
      node.items.forEach((v, i) => stack.push({ node: v, depth: depth + 1, path: `${path}[${i}]` }));
    } else if (isAlias(node)) {
      // resolved (and counted) by toJS
    }
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Parses YAML text (JSON is YAML too); returns one plain value per document (null for an empty one). */
export function parseYaml(text: string, file: string, opts: YamlOptions = {}): unknown[] {
  const lines = new LineCounter();
  let docs: Document.Parsed[];
  try {
    const r = YAML.parseAllDocuments(text, { uniqueKeys: false, prettyErrors: true, lineCounter: lines });
    docs = Array.isArray(r) ? r : [];
  } catch (e) {
    throw new InputError(file, `YAML error: ${firstLine(e instanceof Error ? e.message : String(e))}`);
  }
  if (!opts.multi && docs.length > 1) throw new InputError(`${file}: document 2`, 'one YAML document expected, found more (---)');
  const out: unknown[] = [];
  docs.forEach((doc, i) => {
    const where = opts.multi ? `${file}: document ${i + 1}` : file;
    const err = doc.errors[0];
    if (err !== undefined) {
      const lp = err.linePos?.[0];
      const reason = /Maximum call stack/.test(err.message) ? `nested too deeply` : firstLine(err.message);
      throw new InputError(where, `YAML syntax error${lp ? ` at line ${lp.line}, column ${lp.col}` : ''}: ${reason}`);
    }
    checkNodes(doc, where, lines);
    try {
      out.push(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      throw new InputError(where, `YAML error: ${firstLine(e instanceof Error ? e.message : String(e))}`);
    }
  });
  return out;
}

/** Checks a plain value (e.g. from JSON.parse) for depth and __proto__ keys, without recursion. */
export function checkPlainValue(value: unknown, where: string): void {
  const maxDepth = limit('yamlDepth');
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth)
      throw new InputError(`${where}: ${path || '(top level)'}`, `nested deeper than ${maxDepth} levels (${LIMIT_DEFS.yamlDepth.env})`);
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, depth: depth + 1, path: `${path}[${i}]` }));
      continue;
    }
    for (const k of Object.keys(v)) {
      const child = path === '' ? k : `${path}.${k}`;
      if (k === '__proto__') throw new InputError(`${where}: ${child}`, `'__proto__' is not a field name`);
      stack.push({ v: (v as Record<string, unknown>)[k], depth: depth + 1, path: child });
    }
  }
}
