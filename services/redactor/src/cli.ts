/**
 * Redactor commands: `register-schemas` (derive and register the clean schemas) and `explain`
 * (the rule of every field). Run `node services/redactor/src/cli.ts --help`.
 */
import { runCli } from './commands.ts';

const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = code;
