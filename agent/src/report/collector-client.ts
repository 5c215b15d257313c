// Promise-shaped calls to the collector's AgentService, with deadlines and retries for
// transient failures (the collector restarting, a dropped connection).
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

export class CollectorError extends Error {
  override readonly name = 'CollectorError';
  constructor(message: string, readonly code: GrpcStatus | undefined, options?: { cause?: unknown }) {
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

const TRANSIENT = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.ABORTED]);

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
  /** Attempts for a transient failure before giving up. @default 5 */
  readonly attempts?: number;
  /** First retry delay, doubled each time. @default 200 */
  readonly retryDelayMs?: number;
}

type Unary<Req, Res> = (req: Req, metadata: Metadata, options: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => { cancel(): void } | undefined;

export class CollectorClient {
  private readonly client: AgentServiceClient;
  private readonly deadlineMs: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  readonly token: string | undefined;
  readonly tls: ClientTls | undefined;

  constructor(readonly address: string, options: CollectorClientOptions = {}) {
    const creds = options.tls === undefined ? credentials.createInsecure() : credentials.createSsl(options.tls.ca, options.tls.key ?? null, options.tls.cert ?? null);
    this.client = new AgentServiceClient(address, creds);
    this.token = options.token;
    this.tls = options.tls;
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.attempts = options.attempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 200;
  }

  private async call<Req, Res>(name: string, fn: Unary<Req, Res>, req: Req, extraDeadlineMs = 0, opts: CallOptions = {}): Promise<Res> {
    let delay = this.retryDelayMs;
    const attempts = opts.attempts ?? this.attempts;
    const deadlineMs = opts.deadlineMs ?? this.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          const metadata = new Metadata();
          if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
          const signal = opts.signal;
          const cancel = (): void => (pending as { cancel?: () => void } | undefined)?.cancel?.();
          const pending = fn.call(this.client, req, metadata, { deadline: new Date(Date.now() + deadlineMs + extraDeadlineMs) }, (err, res) => {
            signal?.removeEventListener('abort', cancel);
            if (err) reject(err);
            else resolve(res);
          });
          if (signal?.aborted === true) cancel();
          else signal?.addEventListener('abort', cancel, { once: true });
        });
      } catch (err: unknown) {
        const e = err as ServiceError;
        if (!TRANSIENT.has(e.code) || attempt >= attempts || opts.signal?.aborted === true) {
          throw new CollectorError(`${name} to ${this.address} failed: ${e.details || e.message}`, e.code, { cause: err });
        }
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  enroll(req: EnrollRequest, opts?: CallOptions): Promise<EnrollResponse> {
    return this.call('Enroll', this.client.enroll as unknown as Unary<EnrollRequest, EnrollResponse>, req, 0, opts);
  }

  startRun(req: StartRunRequest, opts?: CallOptions): Promise<unknown> {
    return this.call('StartRun', this.client.startRun as unknown as Unary<StartRunRequest, unknown>, req, 0, opts);
  }

  submitSamples(req: SubmitSamplesRequest, opts?: CallOptions): Promise<SubmitSamplesResponse> {
    return this.call('SubmitSamples', this.client.submitSamples as unknown as Unary<SubmitSamplesRequest, SubmitSamplesResponse>, req, 0, opts);
  }

  endRun(req: EndRunRequest, opts?: CallOptions): Promise<EndRunResponse> {
    return this.call('EndRun', this.client.endRun as unknown as Unary<EndRunRequest, EndRunResponse>, req, 0, opts);
  }

  heartbeat(req: HeartbeatRequest, opts?: CallOptions): Promise<unknown> {
    return this.call('Heartbeat', this.client.heartbeat as unknown as Unary<HeartbeatRequest, unknown>, req, 0, opts);
  }

  sendLogs(req: SendLogsRequest, opts?: CallOptions): Promise<unknown> {
    return this.call('SendLogs', this.client.sendLogs as unknown as Unary<SendLogsRequest, unknown>, req, 0, opts);
  }

  /** Long poll: the deadline is the wait plus the usual per-call deadline. */
  waitForJob(req: WaitForJobRequest, opts?: CallOptions): Promise<WaitForJobResponse> {
    return this.call('WaitForJob', this.client.waitForJob as unknown as Unary<WaitForJobRequest, WaitForJobResponse>, req, req.waitMs, opts);
  }

  close(): void {
    this.client.close();
  }
}
