import { z } from 'zod';
import { ScenarioFile } from './schema.js';

/** The published JSON Schema of scenario files (for editors: `# yaml-language-server: $schema=./scenario.schema.json`). */
export function scenarioJsonSchema(): string {
  const schema = z.toJSONSchema(ScenarioFile, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  schema.title = 'kube-proxy-bench scenario';
  schema.$id = 'https://kube-proxy-bench.invalid/scenario.schema.json';
  return `${JSON.stringify(schema, null, 2)}\n`;
}
