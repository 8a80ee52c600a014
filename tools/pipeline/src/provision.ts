import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Scratch } from './scratch.ts';
import { REPO_ROOT } from '@ehrflow/testing';
import { RESOURCE_TYPES, type PipelineTopics } from './topic-names.ts';

const run = promisify(execFile);

/**
 * Creates the topics of a temporary pipeline deployment (the deletion topics included) and
 * registers their value schemas (the clean ones and both deletion subjects through
 * `redactor register-schemas`, as deployments do), all recorded in `scratch` for its `cleanUp`. `env` is the environment of the redactor CLI (SCHEMA_REGISTRY_URL).
 */
export async function provisionPipeline(
  scratch: Scratch,
  topics: PipelineTopics,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  await scratch.createTopics([topics.raw, topics.quarantine, ...topics.valid, ...topics.clean], 3);
  await scratch.createTopics([topics.drift, topics.jobs], 1);
  await scratch.registerValueSchema([topics.raw], 'pipeline/raw-envelope.avsc');
  await scratch.registerValueSchema([topics.quarantine], 'pipeline/quarantine-record.avsc');
  await scratch.registerValueSchema([topics.drift], 'pipeline/drift-event.avsc');
  await scratch.registerValueSchema([topics.jobs], 'pipeline/job-event.avsc');
  for (const type of RESOURCE_TYPES)
    await scratch.registerValueSchema([`${topics.validPrefix}${type}`], `fhir/${type}.avsc`);
  // Recorded before the CLI runs, so a half-done registration is still cleaned up. The CLI also
  // registers the deletion schema under both deletion subjects.
  scratch.subjects.push(`${topics.validDeletions}-value`, ...topics.clean.map((t) => `${t}-value`));
  await run(
    process.execPath,
    [
      join(REPO_ROOT, 'services', 'redactor', 'src', 'cli.ts'),
      'register-schemas',
      '--valid-prefix',
      topics.validPrefix,
      '--clean-prefix',
      topics.cleanPrefix,
    ],
    { env, timeout: 60_000 },
  );
}
