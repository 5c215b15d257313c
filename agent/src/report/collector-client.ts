// Promise-shaped calls to the collector's AgentService, with deadlines and retries for
// transient failures (the collector restarting, a dropped connection); with several
// addresses, a failing collector's calls move to the next one.
import { credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  type EndRunRequest,
  type EndRunResponse,
  type EnrollRequest,
  type EnrollResponse,
  type HeartbeatRequest,
  type SendLogsRequest,
  type WaitForJobRequest,
  type WaitForJobResponse,
  type StartRunRequest,
  type SubmitSamplesRequest,
  type SubmitSamplesResponse,
} from '@guestbench/proto';
import { Backoff, CALL_RETRY, isFatalCode, isRetryableCode, movesToNextAddress, sleep, type RetryPolicy } from './retry-policy';

export class CollectorError extends Error {
  override readonly name = 'CollectorError';
  constructor(
    message: string,
    readonly code: GrpcStatus | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isCollectorError(err: unknown): err is CollectorError {
  return err instanceof CollectorError;
}

/**
 * The collector refused the request itself (INVALID_ARGUMENT): no retry, later or elsewhere,
 * can deliver it as it is. Fatal, never "unreachable".
 */
export function isRefusal(err: unknown): err is CollectorError {
  return isCollectorError(err) && err.code === GrpcStatus.INVALID_ARGUMENT;
}

/** The collector said no (see isFatalCode): ends what was being tried, never "unreachable". */
export function isFatal(err: unknown): err is CollectorError {
  return isCollectorError(err) && isFatalCode(err.code);
}

/** TLS towards the collector: its CA (PEM), and for mutual TLS this agent's certificate and key. */
export interface ClientTls {
  readonly ca: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** Per call: fewer attempts or a shorter deadline, e.g. while a run is going. */
export interface CallOptions {
  readonly attempts?: number;
  readonly deadlineMs?: number;
  /** Cancels the call (and its retries) when aborted, e.g. a long poll when the agent stops. */
  readonly signal?: AbortSignal;
}

export interface CollectorClientOptions {
  /** Enrollment token, sent as "authorization: Bearer …" on every call. */
  readonly token?: string;
  /** TLS; plaintext when absent. */
  readonly tls?: ClientTls;
  /** Per-call deadline. @default 10000 */
  readonly deadlineMs?: number;
  /** Retries of a transient failure (attempts, delays). @default CALL_RETRY */
  readonly retry?: RetryPolicy;
  /** Told when calls move from one collector address to the next. @default ignored */
  readonly onFailover?: (event: { from: string; to: string; reason: string }) => void;
}

type Unary<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: { deadline: Date },
  cb: (err: ServiceError | null, res: Res) => void,
) => { cancel(): void } | undefined;

export class CollectorClient {
  /** One gRPC client per address, made when first used. */
  private readonly clients = new Map<string, AgentServiceClient>();
  private readonly creds: ReturnType<typeof credentials.createInsecure>;
  private readonly deadlineMs: number;
  private readonly retry: RetryPolicy;
  private current = 0;

  /** The collector addresses in the order tried. */
  readonly addresses: readonly string[];
  readonly token: string | undefined;
  readonly tls: ClientTls | undefined;

  /**
   * @param address HOST:PORT, or several comma-separated: calls go to the first, and move to
   * the next when one stops answering (UNAVAILABLE, a missed deadline), and stay there.
   */
  constructor(
    address: string,
    private readonly options: CollectorClientOptions = {},
  ) {
    this.addresses = address
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    if (this.addresses.length === 0) throw new Error(`no collector address in "${address}"`);
    this.creds =
      options.tls === undefined ? credentials.createInsecure() : credentials.createSsl(options.tls.ca, options.tls.key ?? null, options.tls.cert ?? null);
    this.token = options.token;
    this.tls = options.tls;
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.retry = options.retry ?? CALL_RETRY;
  }

  /** The address calls go to now. */
  get address(): string {
    return this.addresses[this.current] as string;
  }

  /** Every address, the one calls go to now first: for a second client (a worker thread's) that should start where this one is. */
  get addressesFromCurrent(): string {
    return [...this.addresses.slice(this.current), ...this.addresses.slice(0, this.current)].join(',');
  }

  private clientFor(address: string): AgentServiceClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new AgentServiceClient(address, this.creds);
      this.clients.set(address, client);
    }
    return client;
  }

  /** Tells this client's onFailover of a move made by another client of the same agent (its report thread's). */
  tellFailover(event: { from: string; to: string; reason: string }): void {
    this.options.onFailover?.(event);
  }

  /** Moves to the next address, unless a concurrent call already moved on from `from`. */
  private failOver(from: number, reason: string): boolean {
    if (this.addresses.length < 2) return false;
    if (this.current === from) {
      this.current = (from + 1) % this.addresses.length;
      this.options.onFailover?.({ from: this.addresses[from] as string, to: this.address, reason });
    }
    return true;
  }

  private async call<Req, Res>(name: string, pick: (c: AgentServiceClient) => unknown, req: Req, extraDeadlineMs = 0, opts: CallOptions = {}): Promise<Res> {
    // With several addresses, every one of them gets at least one try.
    const attempts = Math.max(opts.attempts ?? this.retry.attempts ?? Infinity, this.addresses.length);
    const backoff = new Backoff({ ...this.retry, attempts });
    const deadlineMs = opts.deadlineMs ?? this.deadlineMs;
    let moves = 0;
    for (;;) {
      const index = this.current;
      const address = this.address;
      const client = this.clientFor(address);
      try {
        return await new Promise<Res>((resolve, reject) => {
          const metadata = new Metadata();
          if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
          const signal = opts.signal;
          const cancel = (): void => (pending as { cancel?: () => void } | undefined)?.cancel?.();
          const pending = (pick(client) as Unary<Req, Res>).call(
            client,
            req,
            metadata,
            { deadline: new Date(Date.now() + deadlineMs + extraDeadlineMs) },
            (err, res) => {
              signal?.removeEventListener('abort', cancel);
              if (err) reject(err);
              else resolve(res);
            },
          );
          if (signal?.aborted === true) cancel();
          else signal?.addEventListener('abort', cancel, { once: true });
        });
      } catch (err: unknown) {
        const e = err as ServiceError;
        const delay = isRetryableCode(e.code) && opts.signal?.aborted !== true ? backoff.next() : undefined;
        if (delay === undefined) throw new CollectorError(`${name} to ${address} failed: ${e.details || e.message}`, e.code, { cause: err });
        // A collector that does not answer: try the next one at once; back off only once
        // every address has had its turn.
        const moved = movesToNextAddress(e.code) && this.failOver(index, `${name}: ${e.details || e.message}`);
        if (moved) moves++;
        if (!moved || moves % this.addresses.length === 0) await sleep(delay, opts.signal);
      }
    }
  }

  enroll(req: EnrollRequest, opts?: CallOptions): Promise<EnrollResponse> {
    return this.call('Enroll', (c) => c.enroll, req, 0, opts);
  }

  startRun(req: StartRunRequest, opts?: CallOptions): Promise<unknown> {
    return this.call('StartRun', (c) => c.startRun, req, 0, opts);
  }

  submitSamples(req: SubmitSamplesRequest, opts?: CallOptions): Promise<SubmitSamplesResponse> {
    return this.call('SubmitSamples', (c) => c.submitSamples, req, 0, opts);
  }

  endRun(req: EndRunRequest, opts?: CallOptions): Promise<EndRunResponse> {
    return this.call('EndRun', (c) => c.endRun, req, 0, opts);
  }

  heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<unknown> {
    return this.call('Heartbeat', (c) => c.heartbeat, req, 0, opts);
  }

  sendLogs(req: SendLogsRequest, opts?: CallOptions): Promise<unknown> {
    return this.call('SendLogs', (c) => c.sendLogs, req, 0, opts);
  }

  /** Long poll: the deadline is the wait plus the usual per-call deadline. */
  waitForJob(req: WaitForJobRequest, opts?: CallOptions): Promise<WaitForJobResponse> {
    return this.call('WaitForJob', (c) => c.waitForJob, req, req.waitMs, opts);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
