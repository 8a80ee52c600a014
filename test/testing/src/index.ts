export {
  createCanaryMatcher,
  mergeMatches,
  MIN_CANARY_LENGTH,
  type CanaryMatch,
  type CanaryMatcher,
} from './canary.ts';
export { freePort } from './free-port.ts';
export {
  createTopics,
  deleteTopics,
  FAST_KAFKA_RETRY,
  localStack,
  RUN_ID,
  uniqueName,
  type LocalStack,
} from './stack.ts';
export { REPO_ROOT, stackEnv } from './stack-env.ts';
export { sleep, waitFor, waitForValue, type WaitOptions } from './wait.ts';
export { seededRandom } from './synthetic.ts';
