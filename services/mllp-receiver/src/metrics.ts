import type { SafeCounter, SafeGauge, SafeHistogram, ServiceMetrics } from '@ehrflow/service';

/** The receiver's metrics: sender-free labels (message type, reason, result), counts and latencies. */
export interface ReceiverMetrics {
  readonly accepted: SafeCounter<'hl7_type'>;
  readonly duplicates: SafeCounter<'hl7_type'>;
  readonly nacks: SafeCounter<'reason'>;
  readonly batches: SafeCounter<'result'>;
  readonly connections: SafeGauge<never>;
  readonly refused: SafeCounter<'reason'>;
  readonly pending: SafeGauge<never>;
  readonly ackLatency: SafeHistogram<never>;
  readonly paused: SafeCounter<never>;
}

export function createReceiverMetrics(service: ServiceMetrics): ReceiverMetrics {
  return {
    accepted: service.counter(
      'mllp_messages_accepted_total',
      'Messages durably written to ehr.raw and ACKed',
      ['hl7_type'],
    ),
    duplicates: service.counter(
      'mllp_messages_duplicate_total',
      'Resent messages ACKed again without a new write',
      ['hl7_type'],
    ),
    nacks: service.counter('mllp_nacks_total', 'Negative acknowledgments by reason', ['reason']),
    batches: service.counter('mllp_batches_total', 'Batches by result (accepted or the rejection reason)', [
      'result',
    ]),
    connections: service.gauge('mllp_connections', 'Open MLLP connections'),
    refused: service.counter('mllp_connections_refused_total', 'Connections closed by a limit', ['reason']),
    pending: service.gauge('mllp_pending_envelopes', 'Envelopes waiting for Kafka'),
    ackLatency: service.histogram(
      'mllp_ack_latency_seconds',
      'From a block complete to its ACK written',
      [],
      [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    ),
    paused: service.counter('mllp_read_pauses_total', 'Times a connection stopped reading (backpressure)'),
  };
}
