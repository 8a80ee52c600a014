import type { Logger } from '@ehrflow/logging';
import { redactForeignError } from './redact-error.ts';
import type { ServiceHttp } from './service-http.ts';

/** What `start` hands back: how to stop the service's work, and optionally its HTTP endpoint. */
export interface ServiceHandle {
  /** Stops taking work and finishes what is in flight (commit offsets, flush producers). */
  stop(): Promise<void>;
  /** Marked draining before `stop` (so `/readyz` fails at once) and closed after it. */
  readonly http?: Pick<ServiceHttp, 'setDraining' | 'close'>;
}

export interface RunServiceOptions {
  readonly name: string;
  /** From `@ehrflow/logging` `createLogger`: its serializer writes the errors logged here. */
  readonly logger: Logger;
  readonly start: () => Promise<ServiceHandle>;
  /** Drain budget after SIGTERM/SIGINT; when it runs out the process exits 1. */
  readonly shutdownTimeoutMs: number;
}

/** A started service: lets the service itself ask for a drain, e.g. when its consumer crashed. */
export interface RunningService {
  /** Drains like SIGTERM does, then exits with `exitCode` (1 on timeout or failure regardless). */
  shutdown(trigger: string, exitCode?: 0 | 1): Promise<void>;
}

const FLUSH_BUDGET_MS = 1000;

/**
 * Runs a service process: installs the fatal-error handlers, calls `start`, and on SIGTERM or
 * SIGINT drains (readiness off, `stop()`, then HTTP close) within `shutdownTimeoutMs` and exits 0.
 * It exits 1 when start fails, the drain fails or times out, a second signal arrives during the
 * drain, or an exception/rejection goes unhandled. Errors are logged through
 * {@link redactForeignError} and the logger's serializer: type, code and stack frames, and
 * the message only of a `PipelineError`.
 * @see https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/
 */
export async function runService(options: RunServiceOptions): Promise<RunningService> {
  const { logger, name } = options;
  let exiting = false;
  const exitProcess = (code: 0 | 1): void => {
    if (exiting) return;
    exiting = true;
    const exit = () => process.exit(code);
    const fallback = setTimeout(exit, FLUSH_BUDGET_MS);
    logger.flush(() => {
      clearTimeout(fallback);
      exit();
    });
  };

  process.on('uncaughtException', (err, origin) => {
    logger.fatal({ service: name, origin, err: redactForeignError(err) }, 'uncaught exception; exiting');
    exitProcess(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ service: name, err: redactForeignError(reason) }, 'unhandled promise rejection; exiting');
    exitProcess(1);
  });

  let resolveStarted: (handle: ServiceHandle | undefined) => void = () => undefined;
  // A signal that arrives while `start` runs waits for it (within the deadline), then stops what started.
  const started = new Promise<ServiceHandle | undefined>((resolve) => {
    resolveStarted = resolve;
  });
  let draining: Promise<void> | undefined;

  const shutdown = (trigger: string, exitCode: 0 | 1 = 0): Promise<void> => {
    if (draining !== undefined) return draining;
    logger.info(
      { service: name, trigger, timeoutMs: options.shutdownTimeoutMs },
      'shutdown requested; draining',
    );
    const startedAt = Date.now();
    // Ref'd on purpose: if the drain hangs on a promise nothing will settle, the event loop could
    // otherwise empty and the process would exit 0 as if the drain had succeeded.
    const deadline = setTimeout(() => {
      logger.error({ service: name, timeoutMs: options.shutdownTimeoutMs }, 'shutdown timed out; exiting');
      exitProcess(1);
    }, options.shutdownTimeoutMs);
    draining = (async () => {
      try {
        const current = await started;
        if (current !== undefined) {
          current.http?.setDraining();
          await current.stop();
          await current.http?.close();
        }
        clearTimeout(deadline);
        logger.info({ service: name, durationMs: Date.now() - startedAt }, 'service stopped');
        exitProcess(exitCode);
      } catch (err) {
        clearTimeout(deadline);
        logger.fatal({ service: name, err: redactForeignError(err) }, 'shutdown failed; exiting');
        exitProcess(1);
      }
    })();
    return draining;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (draining !== undefined) {
      logger.warn({ service: name, signal }, 'second signal during drain; exiting now');
      exitProcess(1);
      return;
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    const handle = await options.start();
    resolveStarted(handle);
    if (draining === undefined) logger.info({ service: name }, 'service started');
  } catch (err) {
    logger.fatal({ service: name, err: redactForeignError(err) }, 'service failed to start; exiting');
    exitProcess(1);
    resolveStarted(undefined);
  }
  return { shutdown };
}
