/**
 * Where kpbench reads and writes:
 * - PACKAGE_ROOT: the package's own directory (found from this module's URL, not the current directory), so
 *   `scenarios/` and `results/baseline` are found from anywhere (`npx kpbench run --quick` in any directory);
 * - checkOutDir: an output directory is checked before any work (not '', '.', '/', the current directory or a
 *   parent of it, a file, under a file, a device, or in a pseudo filesystem such as /proc, where Node's recursive
 *   mkdir never returns) — an InputError naming the flag;
 * - sweepStale: the `<out>.staging-<pid>`, `.tmp-<pid>`, `.old-<pid>` and `.run-<pid>` siblings that a killed
 *   run (SIGKILL, power loss) left are removed, or, for an `.old-` directory whose swap was cut between its two
 *   renames, put back in place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';

/**
 * The package's root directory (holds package.json, scenarios/, results/baseline). From the compiled build
 * (bin/build.mjs), a mirror whose package.json is a link to the package's, it is the package's own directory, so
 * paths shown to the user are the package's.
 */
export const PACKAGE_ROOT = packageRoot(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'));

function packageRoot(here: string): string {
  try {
    return path.dirname(fs.realpathSync(path.join(here, 'package.json')));
  } catch {
    return here;
  }
}

/** `p` resolved against the package root when relative. */
export function packagePath(p: string): string {
  return path.resolve(PACKAGE_ROOT, p);
}

/** Directories no output may go into: pseudo filesystems. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

function within(p: string, root: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The nearest existing ancestor of `abs` (itself when it exists), or null if none is a directory. */
function nearestExisting(abs: string, flag: string, shown: string): { dir: string; exists: boolean } {
  let cur = abs;
  for (;;) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(cur);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new InputError(flag, `'${shown}' is under a file, not a directory`);
      if (code !== 'ENOENT') throw new InputError(flag, `'${shown}': cannot use (${code ?? String(e)})`);
    }
    if (st !== null) {
      if (!st.isDirectory()) {
        if (cur === abs) throw new InputError(flag, `'${shown}' exists and is not a directory`);
        throw new InputError(flag, `'${shown}' is under ${cur}, which is not a directory`);
      }
      return { dir: cur, exists: cur === abs };
    }
    const up = path.dirname(cur);
    if (up === cur) throw new InputError(flag, `'${shown}': no existing parent directory`);
    cur = up;
  }
}

export interface OutDirOptions {
  /** Inputs of the command (scenario files, run directories): the output may not be one of them or hold them. */
  inputs?: readonly string[];
  /** Directories the output may not be (e.g. the baseline a --ci run compares with). */
  forbidden?: readonly string[];
}

/**
 * Checks an output directory before any work; returns it resolved. Refuses '', '.', '/', the current directory or
 * a parent of it, the package root or a parent of it, an existing file or device, a path under a file, a path in
 * /proc, /sys or /dev, a directory holding one of the inputs, and a parent that cannot be written.
 */
export function checkOutDir(flag: string, dir: string, opts: OutDirOptions = {}): string {
  if (dir.trim() === '') throw new InputError(flag, 'must not be empty');
  if (dir.includes('\0')) throw new InputError(flag, 'must not contain a NUL character');
  const abs = path.resolve(dir);
  if (abs === path.parse(abs).root) throw new InputError(flag, `'${dir}' is the root directory`);
  if (within(process.cwd(), abs))
    throw new InputError(flag, `'${dir}' is the current directory or a parent of it; the run directory replaces it whole`);
  if (within(PACKAGE_ROOT, abs)) throw new InputError(flag, `'${dir}' is the package directory or a parent of it`);
  const { dir: existing, exists } = nearestExisting(abs, flag, dir);
  let real: string;
  try {
    real = path.join(fs.realpathSync(existing), path.relative(existing, abs));
  } catch {
    real = abs;
  }
  for (const root of PSEUDO_ROOTS) {
    if (within(real, root) || within(abs, root)) throw new InputError(flag, `'${dir}' is in ${root}, a pseudo filesystem`);
  }
  for (const f of opts.forbidden ?? []) {
    if (within(path.resolve(f), abs)) throw new InputError(flag, `'${dir}' is ${f} or holds it`);
  }
  for (const i of opts.inputs ?? []) {
    const ai = path.resolve(i);
    if (within(ai, abs) && ai !== abs) throw new InputError(flag, `'${dir}' holds the input ${i}`);
    if (ai === abs) throw new InputError(flag, `'${dir}' is an input of this command; choose another directory`);
  }
  if (exists) {
    // an existing directory is replaced whole (its other files carried over): it must be a run directory or empty
    const names = fs.readdirSync(abs);
    if (names.length > 0 && !names.includes('metrics.csv') && !names.includes('meta.json')) {
      throw new InputError(
        flag,
        `'${dir}' is a directory that is not a run directory (no metrics.csv or meta.json): choose a new or empty directory`,
      );
    }
  }
  const parent = exists ? path.dirname(abs) : existing;
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    throw new InputError(flag, `'${dir}': cannot write in ${parent}`);
  }
  return abs;
}

/** The suffixes of the transient siblings an output directory gets while it is written. */
export const TRANSIENT = /^(.*)\.(staging|tmp|old|run)-(\d+)$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what killed kpbench processes left beside output directory `out`: `<out>.<staging|tmp|old|run>-<pid>`
 * of processes no longer alive. An `.old-` directory when `out` itself is missing is the previous run cut off
 * mid-swap: it is renamed back to `out`. Returns the paths removed or restored.
 */
export function sweepStale(out: string): string[] {
  const abs = path.resolve(out);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  const done: string[] = [];
  for (const n of names) {
    const m = TRANSIENT.exec(n);
    if (m === null || m[1] !== base || alive(Number(m[3]))) continue;
    const p = path.join(parent, n);
    if (m[2] === 'old' && !fs.existsSync(abs)) {
      fs.renameSync(p, abs);
    } else {
      fs.rmSync(p, { recursive: true, force: true });
    }
    done.push(p);
  }
  return done;
}
