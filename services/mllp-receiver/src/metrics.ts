import { declareMetrics, metric, type DeclaredMetrics, type ServiceMetrics } from '@ehrflow/service';

/** The receiver's metrics: sender-free labels (message type, reason, result), counts and latencies. */
export const RECEIVER_METRICS = {
  accepted: metric.counter(
    'mllp_messages_accepted_total',
    'Messages durably written to ehr.raw and ACKed',
    'hl7_type',
  ),
  duplicates: metric.counter(
    'mllp_messages_duplicate_total',
    'Resent messages ACKed again without a new write',
    'hl7_type',
  ),
  nacks: metric.counter('mllp_nacks_total', 'Negative acknowledgments by reason', 'reason'),
  batches: metric.counter(
    'mllp_batches_total',
    'Batches by result (accepted or the rejection reason)',
    'result',
  ),
  connections: metric.gauge('mllp_connections', 'Open MLLP connections'),
  refused: metric.counter('mllp_connections_refused_total', 'Connections closed by a limit', 'reason'),
  pending: metric.gauge('mllp_pending_envelopes', 'Envelopes waiting for Kafka'),
  ackLatency: metric.histogram(
    'mllp_ack_latency_seconds',
    'From a block complete to its ACK written',
    [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
  ),
  paused: metric.counter('mllp_read_pauses_total', 'Times a connection stopped reading (backpressure)'),
};

export type ReceiverMetrics = DeclaredMetrics<typeof RECEIVER_METRICS>;

export function createReceiverMetrics(service: ServiceMetrics): ReceiverMetrics {
  return declareMetrics(service, RECEIVER_METRICS);
}
