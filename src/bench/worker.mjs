// @ts-check
/**
 * A worker thread of the suite runner (parallel.ts). Plain JavaScript: it loads the runner's module from the URL
 * the starting thread gives (a worker thread does not share that thread's loader), the compiled parallel.js of the
 * CLI's build (bin/build.mjs) as it is, the parallel.ts source through tsx's loader.
 */
import { workerData } from 'node:worker_threads';

/** @type {string} */
const entry = workerData.entry;
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { serveCases } = await import(entry);
await serveCases();
