import { PipelineError, isPipelineError, type ErrorContext } from '@ehrflow/errors';

/**
 * Sorts a kafkajs failure into the product's error catalog: the broker being unreachable (or
 * busy electing a leader) is transient `KAFKA_UNAVAILABLE`; a refusal that retrying cannot fix
 * (SASL, ACLs, a fenced transactional producer, a record too large) is permanent `KAFKA_REJECTED`.
 *
 * kafkajs has already retried by the time an error reaches us, so transient here means "worth
 * another attempt later", not "retry now". kafkajs messages name brokers and error types, never
 * record contents; the original error stays as `cause` for the log.
 */

/** Names kafkajs gives errors that mean "could not talk to the cluster". */
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

/** Protocol error types after which this producer or member can never succeed again. */
const FENCED_OR_FORBIDDEN = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'INVALID_TXN_STATE',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
]);

/**
 * Idempotent-producer state the broker no longer agrees with. After a broker restart (or a leader
 * change) a send that failed with NOT_LEADER_FOR_PARTITION leaves kafkajs' sequence numbers ahead
 * of the broker's, and every later send to that partition fails OUT_OF_ORDER_SEQUENCE_NUMBER:
 * kafkajs 2.2.4 neither bumps the epoch nor resets the sequence (the Java client does, KAFKA-12152;
 * kafkajs #598). Such a producer can never send there again, but a new one (a new producer id,
 * sequences from 0) can: transient once the producer is replaced, which every producer of this
 * package does on this error.
 * @see https://github.com/tulios/kafkajs/issues/598
 */
const PRODUCER_STATE_LOST = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID']);

/** Group protocol errors that mean "this member must re-join"; kafkajs handles them itself. */
const REBALANCING = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

interface KafkaJsLike {
  readonly name: string;
  readonly message: string;
  readonly type?: string;
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

function isKafkaJsError(err: unknown): err is KafkaJsLike {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/** The error and its `cause` chain, outermost first (bounded, in case of a cycle). */
function chain(err: unknown): KafkaJsLike[] {
  const out: KafkaJsLike[] = [];
  let current: unknown = err;
  while (isKafkaJsError(current) && out.length < 8) {
    out.push(current);
    current = current.cause === current ? undefined : current.cause;
  }
  return out;
}

/** Whether the error asks the consumer to re-join its group (the batch is abandoned, not failed). */
export function isRebalanceError(err: unknown): boolean {
  return chain(err).some((e) => e.type !== undefined && REBALANCING.has(e.type));
}

/** Protocol error types of a produce the broker refused for its size. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/**
 * Whether the broker refused a produce for its size (a record, or a partition's batch, above the
 * topic's `max.message.bytes`), raw from kafkajs or as the `KAFKA_REJECTED` made of it.
 */
export function isTooLargeRefusal(err: unknown): boolean {
  const raw = isPipelineError(err) && err.code === 'KAFKA_REJECTED' ? err.cause : err;
  return chain(raw).some((e) => e.type !== undefined && TOO_LARGE.has(e.type));
}

/** Whether the error says the producer's idempotence state is lost: replace the producer, then retry. */
export function isProducerStateLost(err: unknown): boolean {
  return chain(err).some((e) => e.type !== undefined && PRODUCER_STATE_LOST.has(e.type));
}

/**
 * Maps any error thrown by kafkajs to a `PipelineError`. A `PipelineError` passes through as is;
 * an error that is not from kafkajs (a bug, a codec failure) is returned unchanged as well.
 *
 * @param operation what we were doing, e.g. `connect`, `send`, `commit` (goes into the context)
 */
export function toKafkaError(err: unknown, operation: string, context: ErrorContext = {}): unknown {
  if (isPipelineError(err) || !isKafkaJsError(err)) return err;
  const links = chain(err);
  const innermost = links[links.length - 1] ?? err;
  const ctx: ErrorContext = { ...context, operation, kafkaError: innermost.name, kafkaType: innermost.type };

  const refused = links.find(
    (e) =>
      e.name === 'KafkaJSSASLAuthenticationError' ||
      (e.type !== undefined && FENCED_OR_FORBIDDEN.has(e.type)),
  );
  if (refused) {
    return new PipelineError(
      'KAFKA_REJECTED',
      `Kafka refused ${operation} (${refused.type ?? refused.name})`,
      {
        cause: err,
        context: ctx,
      },
    );
  }
  // Transient: the producer that met it is replaced before the next send (see PRODUCER_STATE_LOST).
  if (isProducerStateLost(err)) {
    return new PipelineError('KAFKA_UNAVAILABLE', `Kafka lost the producer's sequence during ${operation}`, {
      cause: err,
      context: ctx,
    });
  }
  const unreachable = links.some((e) => UNREACHABLE.has(e.name));
  // A retriable protocol error that outlived kafkajs' retries (leader election, coordinator
  // loading) is still a cluster availability problem, not a refusal.
  const retriable = links.every((e) => e.retriable !== false || e.name === 'KafkaJSNumberOfRetriesExceeded');
  if (unreachable || retriable || innermost.retriable === true) {
    return new PipelineError('KAFKA_UNAVAILABLE', `Kafka unavailable during ${operation}`, {
      cause: err,
      context: ctx,
    });
  }
  return new PipelineError(
    'KAFKA_REJECTED',
    `Kafka refused ${operation} (${innermost.type ?? innermost.name})`,
    {
      cause: err,
      context: ctx,
    },
  );
}
