// @ts-check
/**
 * A worker thread of the suite runner (parallel.ts). Plain JavaScript, so it can load the TypeScript loader
 * (tsx) before the runner's code: a worker thread does not share the loader of the thread that started it.
 */
import { register } from 'tsx/esm/api';

register();
const { serveCases } = await import('./parallel.ts');
await serveCases();
