export {
  asBuffer,
  createOrderedPool,
  defineWorkerTask,
  slices,
  type OrderedPool,
  type OrderedPoolOptions,
  type OrderedPoolStats,
  type WorkerReply,
} from './ordered-pool.ts';
