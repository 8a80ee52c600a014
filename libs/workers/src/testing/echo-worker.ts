import { PipelineError } from '@ehrflow/errors';
import { defineWorkerTask } from '../ordered-pool.ts';

/** A task of the test worker: echo `value` after `delayMs`, or fail the way `fail` says. */
export interface EchoTask {
  readonly value: string;
  readonly delayMs: number;
  readonly fail?: 'pipeline' | 'throw' | 'exit';
}

export default defineWorkerTask(async (task: EchoTask) => {
  await new Promise((resolve) => setTimeout(resolve, task.delayMs));
  if (task.fail === 'pipeline') throw new PipelineError('CONTRACT_VIOLATION', `value ${task.value} is wrong`);
  if (task.fail === 'throw') throw new TypeError(`cannot read ${task.value}`);
  if (task.fail === 'exit') process.exit(3);
  return { value: task.value, bytes: Buffer.from(task.value) };
});
