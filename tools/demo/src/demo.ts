/**
 * `npm run demo`: the whole pipeline against a simulated EHR with production faults, ending with
 * the reconciliation and leak-scan report. Run `node tools/demo/src/demo.ts --help`.
 * scripts/demo.sh starts the local stack and registers the schemas before calling this.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DEMO_HELP, parseDemoArgs, type DemoArgs } from './args.ts';
import { createProgressWriter } from './progress.ts';
import { formatDemoReport } from './report.ts';
import { runDemo } from './run.ts';
import { REPO_ROOT } from '@ehrflow/testing';

async function main(argv: readonly string[]): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${DEMO_HELP}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(DEMO_HELP);
    return 0;
  }
  const progress = createProgressWriter(process.stdout);
  const report = await runDemo(args, {
    progress: (line) => (line === '' ? progress.done() : progress.write(line)),
    say: (line) => {
      progress.done();
      process.stdout.write(`[demo] ${line}\n`);
    },
  });
  progress.done();
  process.stdout.write(`\n${formatDemoReport(report)}\n`);
  if (args.report !== undefined) {
    const path = resolve(args.report);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`report: ${path}\n`);
  }
  if (!args.keepStack) {
    execFileSync('bash', [join(REPO_ROOT, 'deploy', 'local', 'stack'), 'down'], { stdio: 'inherit' });
  }
  return report.passed ? 0 : 1;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
