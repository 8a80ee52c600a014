import { PipelineError } from '@ehrflow/errors';
import { fromNetworkError, fromStatus } from '@ehrflow/http';
import { DEFAULT_RETRY_POLICY, retry, type RetryPolicy } from '@ehrflow/resilience';
import { Agent, request } from 'undici';
import type { AlertSink } from './alert.ts';

export interface WebhookSinkOptions {
  readonly url: string;
  /** Bound on connect, headers and body, in ms. */
  readonly timeoutMs: number;
  /** Defaults to 3 retries with the product's backoff. */
  readonly retry?: RetryPolicy;
}

/**
 * POSTs each alert as JSON to a webhook. Timeouts on every phase; network failures and 5xx are
 * retried with backoff (honouring Retry-After), 4xx fails at once. The URL (which may carry a
 * token) never appears in an error.
 */
export function createWebhookAlertSink(options: WebhookSinkOptions): AlertSink {
  const dispatcher = new Agent({
    connectTimeout: options.timeoutMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connections: 2,
  });
  const policy = options.retry ?? { ...DEFAULT_RETRY_POLICY, retries: 3, maxMs: 5_000 };
  const context = { sink: 'webhook' };
  return {
    name: 'webhook',
    async send(alert) {
      const body = JSON.stringify(alert);
      await retry(async () => {
        let res;
        try {
          res = await request(options.url, {
            method: 'POST',
            dispatcher,
            headers: { 'content-type': 'application/json' },
            body,
          });
        } catch (err) {
          const mapped = fromNetworkError(err, context);
          if (mapped instanceof PipelineError) throw mapped;
          throw new PipelineError('HTTP_PERMANENT', 'alert webhook request failed', { context });
        }
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) return;
        const retryAfter = Number(res.headers['retry-after']);
        throw fromStatus(
          res.statusCode,
          context,
          Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
        );
      }, policy);
    },
    close: () => dispatcher.close(),
  };
}
