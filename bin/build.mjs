// The package's TypeScript compiled once into plain JavaScript, so a process loads the tree without a loader hook.
//
// Node 20's module loader hooks (tsx) cost about 1.4 s of CPU in every process that loads the whole source tree,
// whatever tsx caches; the same tree as .js files loads in about 1 s less. A build is a mirror of the package:
// every .ts file of the directories asked for, transpiled by esbuild (tsx's own transpiler, with the tsconfig's
// settings) to .js at the same relative path, and every other file and directory a symbolic link to the original
// (scenarios/, results/, package.json, the kernel helpers beside the sources, ...), so code that finds files from
// its own URL finds the package's. Transpiling the ~220 files takes about 0.4 s of CPU.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Writes a mirror of the package into `out` with the .ts files under `dirs` (top-level directory names)
 * transpiled; `sourcemap` adds linked source maps (read by node only with --enable-source-maps).
 */
export async function buildMirror(out, dirs, sourcemap) {
  const sources = [];
  const mirror = (rel) => {
    fs.mkdirSync(path.join(out, rel), { recursive: true });
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (rel === '' && (e.name === 'node_modules' || e.name === '.git')) continue;
      if (e.isDirectory() && (rel !== '' || dirs.includes(e.name))) mirror(r);
      else {
        fs.symlinkSync(path.join(ROOT, r), path.join(out, r));
        if (e.name.endsWith('.ts') && rel !== '') sources.push(path.join(ROOT, r));
      }
    }
  };
  // (the compiled files find the package's dependencies in the node_modules the mirror sits in)
  mirror('');
  const esbuild = createRequire(path.join(ROOT, 'node_modules', 'tsx', 'package.json'))('esbuild');
  await esbuild.build({
    entryPoints: sources,
    outdir: out,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: sourcemap ? 'linked' : false,
    sourcesContent: false,
    logLevel: 'warning',
  });
  await esbuild.stop();
}

/** A fingerprint of the sources: every file under src/ by path, size and modification time, and package.json. */
function fingerprint() {
  const h = crypto.createHash('sha256');
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else {
        const st = fs.statSync(path.join(ROOT, r));
        h.update(`${r}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  walk('src');
  h.update(fs.readFileSync(path.join(ROOT, 'package.json')));
  h.update(process.version);
  return h.digest('hex').slice(0, 16);
}

/**
 * The compiled src/ tree for the CLI: node_modules/.cache/kpbench/<fingerprint>, built on first use after a
 * change to the sources (written under a temporary name and renamed into place, so processes started at the same
 * time never load a half-written build). Returns the build's root, or null when it cannot be made (no writable
 * cache, no esbuild): the caller then loads the sources through tsx. KPBENCH_NO_BUILD=1 asks for tsx.
 */
export async function cliBuild() {
  if (process.env.KPBENCH_NO_BUILD === '1') return null;
  try {
    const base = path.join(ROOT, 'node_modules', '.cache', 'kpbench');
    const out = path.join(base, fingerprint());
    if (fs.existsSync(path.join(out, 'src', 'cli', 'main.js'))) return out;
    fs.mkdirSync(base, { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    await buildMirror(tmp, ['src'], false);
    try {
      fs.renameSync(tmp, out);
    } catch {
      // another process put the same build in place first
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    // builds of older sources, a day after they were made (a process started before the change may still use one)
    const day = Date.now() - 24 * 3600 * 1000;
    for (const name of fs.readdirSync(base)) {
      const p = path.join(base, name);
      if (p !== out && fs.statSync(p).mtimeMs < day) fs.rmSync(p, { recursive: true, force: true });
    }
    return out;
  } catch {
    return null;
  }
}
