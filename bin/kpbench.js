#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so the package needs no build step.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const { main } = await import(path.join(here, '..', 'src', 'cli', 'main.ts'));
const { installSignalHandlers } = await import(path.join(here, '..', 'src', 'io', 'signals.ts'));
installSignalHandlers();
process.exitCode = await main(process.argv.slice(2));
