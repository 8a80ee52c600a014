import { seededRandom, syntheticMessage, type Drift, type MessageOptions } from './messages.ts';
import { MllpSender, type SeenAck } from './sender.ts';

export interface FeedOptions {
  readonly port: number;
  readonly host?: string;
  /** Sending application (MSH-3) of this feed; control ids are `<prefix>-<n>`. */
  readonly sendingApplication: string;
  readonly controlIdPrefix: string;
  readonly count: number;
  readonly seed: number;
  /** Messages per second for this sender; unpaced when absent. */
  readonly rate?: number;
  /** The feed gives up (what is not ACKed by then stays unACKed). */
  readonly deadlineMs: number;
  /** Every n-th message is sent twice without waiting for the first ACK (a sender that resends early). */
  readonly resendEvery?: number;
  readonly ackTimeoutMs?: number;
  readonly targetBytes?: number;
  /** From which message on the feed drifts, and how. */
  readonly driftFrom?: number;
  readonly drift?: Drift;
  readonly enhanced?: boolean;
  /** Per message (by index): options that replace the feed's (a planted canary patient, a type). */
  readonly override?: (index: number) => Partial<MessageOptions> | undefined;
  /** Called with each message as generated (before its first send). */
  readonly onMessage?: (controlId: string, text: string) => void;
  /** Called for each accepting ACK as it arrives. */
  readonly onAck?: (controlId: string) => void;
}

export interface FeedResult {
  /** Control ids the sender saw accepted (AA/CA). */
  readonly acked: Set<string>;
  /** Control ids answered AE/CE (content errors: not resent). */
  readonly rejected: Set<string>;
  readonly transientNaks: number;
  readonly reconnects: number;
  /** Milliseconds from writing a message to its accepting ACK (first attempt only). */
  readonly latenciesMs: number[];
}

const ACCEPT = new Set(['AA', 'CA']);
const CONTENT_ERROR = new Set(['AE', 'CE']);

/**
 * One sender as an interface engine runs it: messages in order, each resent until it is
 * acknowledged — after a lost connection, a timeout or a transient NAK (AR/CR) — reconnecting
 * with a short pause while the receiver is away.
 */
export async function runFeed(options: FeedOptions): Promise<FeedResult> {
  const random = seededRandom(options.seed);
  const result = {
    acked: new Set<string>(),
    rejected: new Set<string>(),
    transientNaks: 0,
    reconnects: 0,
    latenciesMs: [] as number[],
  };
  const deadline = Date.now() + options.deadlineMs;
  const ackTimeout = options.ackTimeoutMs ?? 3_000;
  let sender: MllpSender | undefined;
  const started = performance.now();

  const connected = async (): Promise<MllpSender | undefined> => {
    while (Date.now() < deadline) {
      if (sender && !sender.isClosed) return sender;
      if (sender) result.reconnects += 1;
      const next = new MllpSender(options.port, options.host);
      try {
        await next.connect();
        sender = next;
        return sender;
      } catch {
        await pause(100);
      }
    }
    return undefined;
  };

  for (let i = 0; i < options.count && Date.now() < deadline; i += 1) {
    if (options.rate !== undefined) {
      const due = started + (i * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 0) await pause(wait);
    }
    const controlId = `${options.controlIdPrefix}-${i}`;
    const messageOptions: MessageOptions = {
      sendingApplication: options.sendingApplication,
      controlId,
      ...(options.targetBytes !== undefined ? { targetBytes: options.targetBytes } : {}),
      ...(options.drift !== undefined && i >= (options.driftFrom ?? 0) ? { drift: options.drift } : {}),
      ...(options.enhanced ? { acceptAck: 'AL' as const, applicationAck: 'NE' as const } : {}),
      ...options.override?.(i),
    };
    const message = syntheticMessage(random, messageOptions);
    options.onMessage?.(controlId, message);
    let first = true;
    while (Date.now() < deadline) {
      const s = await connected();
      if (!s) break;
      const sentAt = performance.now();
      let ack: SeenAck | undefined;
      if (options.resendEvery !== undefined && i % options.resendEvery === 0) {
        s.sendNoWait(message);
        s.sendNoWait(message);
        const one = await s.nextAck(ackTimeout);
        const two = one ? await s.nextAck(ackTimeout) : undefined;
        ack = two ?? undefined;
        if (one && two && one.code !== two.code) ack = ACCEPT.has(one.code) ? two : one;
      } else {
        ack = await s.send(message, ackTimeout);
      }
      if (ack === undefined) {
        await s.destroy();
        first = false;
        continue;
      }
      if (ACCEPT.has(ack.code) && ack.controlId === controlId) {
        if (first) result.latenciesMs.push(performance.now() - sentAt);
        result.acked.add(controlId);
        options.onAck?.(controlId);
        break;
      }
      if (CONTENT_ERROR.has(ack.code)) {
        result.rejected.add(controlId);
        break;
      }
      result.transientNaks += 1;
      first = false;
      await pause(50);
    }
  }
  await sender?.end().catch(() => undefined);
  return result;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
