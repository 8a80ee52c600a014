/** A validator worker that starts, then exits in the middle of every chunk (workers.int.test.ts). */
import { defineWorkerTask } from '@ehrflow/workers';

export default defineWorkerTask((): never => process.exit(7));
