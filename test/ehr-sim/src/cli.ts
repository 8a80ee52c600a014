import { HELP, parseCliArgs } from './cli-args.ts';
import { createSimulator } from './simulator.ts';

/** Starts the simulator from the command line; `--help` lists every flag. */
async function main(argv: readonly string[]): Promise<void> {
  let command;
  try {
    command = parseCliArgs(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}\n`);
    process.exitCode = 2;
    return;
  }
  if (command.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  let sim;
  try {
    // The product's PHI-safe logger, loaded only when logging is asked for.
    const logger =
      command.options.logger === true
        ? (await import('@ehrflow/logging')).createLogger({ name: 'ehr-sim' })
        : false;
    sim = createSimulator({ ...command.options, logger });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const url = await sim.start(command.port);
  process.stdout.write(
    `ehr-sim listening on ${url} (sites: ${sim.options.sites.map((s) => `${url}/${s}/fhir`).join(', ')})\n`,
  );
  const shutdown = (): void => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

await main(process.argv.slice(2));
