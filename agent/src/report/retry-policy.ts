// The agent's one retry policy: which gRPC answers are worth trying again, which are final,
// and how long to wait between tries (exponential backoff with jitter, within a number of
// attempts and a deadline). Every place that retries a collector uses it.
import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The collector answered and said no — to what was sent (INVALID_ARGUMENT), to who sent it
 * (UNAUTHENTICATED, PERMISSION_DENIED), or to the order of calls (FAILED_PRECONDITION, e.g.
 * StartRun before Enroll). Trying again, later or at another address, sends the same thing
 * and gets the same no: these are never "unreachable".
 */
const FATAL: ReadonlySet<number> = new Set([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.FAILED_PRECONDITION,
]);

/** A collector restarting, overloaded, or a dropped connection: worth another try. */
const RETRYABLE: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.ABORTED]);

/** No answer at all: the next collector address may answer. */
const NO_ANSWER: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

export function isFatalCode(code: number | undefined): boolean {
  return code !== undefined && FATAL.has(code);
}

export function isRetryableCode(code: number | undefined): boolean {
  return code !== undefined && RETRYABLE.has(code);
}

/** Whether a call that failed with `code` should move on to the next collector address. */
export function movesToNextAddress(code: number | undefined): boolean {
  return code !== undefined && NO_ANSWER.has(code);
}

export interface RetryPolicy {
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** No delay grows beyond this. */
  readonly maxDelayMs: number;
  /** Tries in all, the first included. @default unlimited */
  readonly attempts?: number;
  /** Time from the first try after which no retry is started. @default unlimited */
  readonly deadlineMs?: number;
  /**
   * Each delay is spread uniformly over ±jitter of its nominal value, so that agents that
   * lost the same collector at the same moment do not all come back at the same moment.
   * @default 0.2
   */
  readonly jitter?: number;
}

/** One gRPC call's retries (CollectorClient): quick, a handful. */
export const CALL_RETRY: RetryPolicy = { initialDelayMs: 200, maxDelayMs: 5000, attempts: 5 };
/** The daemon waiting for its collector to come back. */
export const RECONNECT_RETRY: RetryPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000 };
/** During a run: after a failed delivery, how long to leave the collector alone. */
export const QUIET_RETRY: RetryPolicy = { initialDelayMs: 2000, maxDelayMs: 60_000 };
/** After a run: delivering what is left, until the run's delivery deadline. */
export const DRAIN_RETRY: RetryPolicy = { initialDelayMs: 500, maxDelayMs: 10_000 };
/** The check before a run: short, even waits within its few seconds. */
export const CHECK_RETRY: RetryPolicy = { initialDelayMs: 200, maxDelayMs: 200, jitter: 0 };

/**
 * Counts tries and tells how long to wait before the next one, or that there is none.
 * `now` and `random` are for tests.
 */
export class Backoff {
  private tries = 0;
  private readonly startedAt: number;

  constructor(
    readonly policy: RetryPolicy,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.startedAt = now();
  }

  /** Tries made so far (each `next()` counts one). */
  get attempts(): number {
    return this.tries;
  }

  /** The nominal delay after `failures` failed tries, before jitter. */
  nominalDelay(failures: number): number {
    const { initialDelayMs, maxDelayMs } = this.policy;
    return Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, failures - 1));
  }

  /**
   * Records a failed try; returns the delay before the next one, or undefined when the
   * attempts or the deadline are used up. A delay is cut short at the deadline.
   */
  next(): number | undefined {
    this.tries++;
    const { attempts, deadlineMs } = this.policy;
    if (attempts !== undefined && this.tries >= attempts) return undefined;
    const jitter = this.policy.jitter ?? 0.2;
    let delay = Math.round(this.nominalDelay(this.tries) * (1 - jitter + 2 * jitter * this.random()));
    if (deadlineMs !== undefined) {
      const left = this.startedAt + deadlineMs - this.now();
      if (left <= 0) return undefined;
      delay = Math.min(delay, left);
    }
    return delay;
  }

  /** After a success: the next failure waits the initial delay again. */
  reset(): void {
    this.tries = 0;
  }
}

/** Waits `ms`, or less when `signal` aborts (then it resolves, it does not throw). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
