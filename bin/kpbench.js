#!/usr/bin/env node
// The CLI. It loads the sources compiled once to JavaScript (bin/build.mjs: built on the first run after a change,
// cached under node_modules/.cache/kpbench), so the package needs no build step and a process does not pay for a
// TypeScript loader on every module; where no build can be made (or with KPBENCH_NO_BUILD=1), through tsx.
import path from 'node:path';
import { cliBuild, ROOT } from './build.mjs';

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
