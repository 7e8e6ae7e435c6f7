import type { Command } from 'commander';
import { register as registerRun } from './run.js';
import { register as registerInspect } from './inspect.js';
import { register as registerCompare } from './compare.js';
import { register as registerMerge } from './merge.js';
import { register as registerBaseline } from './baseline.js';
import { registerRender } from './render.js';
import { register as registerKernel, registerCalibrate } from './kernel.js';
import { register as registerBackends } from './backends.js';
import { register as registerReport } from './report.js';
import { register as registerProfile } from './profile.js';

/** Every command module exports `register(program)`; this is the one list of them. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerInspect(program);
  registerCompare(program);
  registerMerge(program);
  registerBaseline(program);
  registerRender(program);
  registerKernel(program);
  registerCalibrate(program);
  registerBackends(program);
  registerReport(program);
  registerProfile(program);
}
