#!/usr/bin/env node
// The CLI. It loads the sources compiled once to JavaScript (bin/build.mjs: built on the first run after a change,
// cached under node_modules/.cache/kpbench), so the package needs no build step and a process does not pay for a
// TypeScript loader on every module; where no build can be made (or with KPBENCH_NO_BUILD=1), through tsx.
import path from 'node:path';
import v8 from 'node:v8';
import { cliBuild, ROOT } from './build.mjs';

// V8 lets the old generation grow to a multiple of what survived the last full collection before it collects
// again (up to 4x on a fast machine); on a 100,000-service case that held ~0.8 GiB of garbage beside ~1.5 GiB of
// live objects. Growing by at most 20% keeps the peak near the live size, for ~10% more CPU at that size and none
// measurable on the quick suite (README, "The harness's own cost").
v8.setFlagsFromString('--heap-growing-percent=20');
const build = await cliBuild();
let src = path.join(ROOT, 'src');
let ext = '.ts';
if (build !== null) {
  src = path.join(build, 'src');
  ext = '.js';
} else {
  const { register } = await import('tsx/esm/api');
  register();
}
const { main } = await import(path.join(src, 'cli', `main${ext}`));
const { installSignalHandlers } = await import(path.join(src, 'io', `signals${ext}`));
installSignalHandlers();
process.exitCode = await main(process.argv.slice(2));
