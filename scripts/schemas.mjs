// `npm run schemas -- <command>`: the steward's commands. `baseline` and `coverage` read the pipeline's
// topics, so they live with the validator (a library may not import a service); every other
// command is the contracts CLI's. Exit code and output are the command's own.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const [command, ...rest] = process.argv.slice(2);
const [entry, args] =
  command === 'baseline' || command === 'coverage'
    ? [join(root, 'services', 'validator', 'src', 'cli.ts'), [command, ...rest]]
    : [join(root, 'libs', 'contracts', 'src', 'cli.ts'), process.argv.slice(2)];
const result = spawnSync(process.execPath, [entry, ...args], { stdio: 'inherit' });
process.exitCode = result.status ?? 1;
