// Writes scenarios/scenario.schema.json from the zod schema (npm run schema); a test keeps it in step.
import { writeFileSync } from 'node:fs';
import { scenarioJsonSchema } from '../src/scenario/jsonschema.js';

writeFileSync('scenarios/scenario.schema.json', scenarioJsonSchema());
process.stdout.write('wrote scenarios/scenario.schema.json\n');
