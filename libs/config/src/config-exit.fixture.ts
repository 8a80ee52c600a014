// A process entry point for env.test.ts: loads a small schema with `loadConfigOrExit` from its
// own environment and prints the result as JSON when it is valid.
import { loadConfigOrExit, port, z } from './index.ts';

const schema = z.object({
  DB_PASSWORD: z.string().min(12),
  API_TOKEN: z.string().min(1),
  HTTP_PORT: port(8080),
  MODE: z.enum(['development', 'production']),
});

const config = loadConfigOrExit(schema, 'fixture-svc');
process.stdout.write(JSON.stringify({ ok: true, port: config.HTTP_PORT, mode: config.MODE }) + '\n');
