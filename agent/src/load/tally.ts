// Everything one load run (or one thread of it) counts, in a form that merges across threads.
import { Histogram, type HistogramState } from './histogram';
import type { ParsedResponse } from './response-parser';
import type { FailureKind, RequestTiming } from './transport';

/** Distinct error messages kept per run; more are counted under the last entry. */
const MAX_ERROR_MESSAGES = 20;

export interface TallyState {
  readonly complete: number;
  readonly failures: Readonly<Record<FailureKind, number>>;
  readonly non2xx: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly keepAliveRequests: number;
  readonly totalBytes: number;
  readonly htmlBytes: number;
  readonly documentLength: number | undefined;
  readonly serverSoftware: string | undefined;
  readonly errors: Readonly<Record<string, number>>;
  readonly total: HistogramState;
  readonly connect: HistogramState;
  readonly waiting: HistogramState;
  readonly processing: HistogramState;
  /** Constant-rate runs only: latency from the actual send, as if no request were ever late. */
  readonly uncorrected: HistogramState | undefined;
}

export class Tally {
  complete = 0;
  readonly failures: Record<FailureKind, number> = { connect: 0, receive: 0, length: 0, exceptions: 0 };
  non2xx = 0;
  readonly statuses: Record<string, number> = {};
  keepAliveRequests = 0;
  totalBytes = 0;
  htmlBytes = 0;
  documentLength: number | undefined;
  serverSoftware: string | undefined;
  readonly errors: Record<string, number> = {};
  readonly total = new Histogram();
  readonly connect = new Histogram();
  readonly waiting = new Histogram();
  readonly processing = new Histogram();
  uncorrected: Histogram | undefined;

  constructor(constantRate = false) {
    if (constantRate) this.uncorrected = new Histogram();
  }

  /** Requests that ended, answered or not (length failures are answered and counted once). */
  get finished(): number {
    return this.complete + this.failures.connect + this.failures.receive + this.failures.exceptions;
  }

  /** Records one answered request. `sentAt` is the actual send time when `timing.start` was the due time. */
  response(timing: RequestTiming, response: ParsedResponse, sentAt?: number): void {
    this.complete++;
    const key = String(response.status);
    this.statuses[key] = (this.statuses[key] ?? 0) + 1;
    if (response.status < 200 || response.status >= 300) this.non2xx++;
    if (response.keepAlive) this.keepAliveRequests++;
    this.totalBytes += response.headerBytes + response.bodyBytes;
    this.htmlBytes += response.payloadBytes;
    if (this.serverSoftware === undefined && response.server !== undefined) this.serverSoftware = response.server;
    // Like ab: the first response's length is the document's; any other length is a failure.
    if (this.documentLength === undefined) this.documentLength = response.payloadBytes;
    else if (response.payloadBytes !== this.documentLength) this.failures.length++;
    const us = 1000;
    this.total.record((timing.end - timing.start) * us);
    this.connect.record(timing.connectMs * us);
    this.waiting.record((timing.firstByte - timing.written) * us);
    this.processing.record((timing.end - timing.start - timing.connectMs) * us);
    if (this.uncorrected !== undefined && sentAt !== undefined) this.uncorrected.record((timing.end - sentAt) * us);
  }

  failure(kind: FailureKind, error: Error, count: number): void {
    this.failures[kind] += count;
    this.error(`${kind}: ${error.message}`, count);
  }

  private error(message: string, count: number): void {
    const keys = Object.keys(this.errors);
    const key = message in this.errors || keys.length < MAX_ERROR_MESSAGES ? message : 'other errors';
    this.errors[key] = (this.errors[key] ?? 0) + count;
  }

  state(): TallyState {
    return {
      complete: this.complete,
      failures: { ...this.failures },
      non2xx: this.non2xx,
      statuses: { ...this.statuses },
      keepAliveRequests: this.keepAliveRequests,
      totalBytes: this.totalBytes,
      htmlBytes: this.htmlBytes,
      documentLength: this.documentLength,
      serverSoftware: this.serverSoftware,
      errors: { ...this.errors },
      total: this.total.state(),
      connect: this.connect.state(),
      waiting: this.waiting.state(),
      processing: this.processing.state(),
      uncorrected: this.uncorrected?.state(),
    };
  }

  /** Adds another thread's counts. Its document length, when different, counts its answers as length failures. */
  merge(other: TallyState): void {
    this.complete += other.complete;
    for (const k of Object.keys(this.failures) as FailureKind[]) this.failures[k] += other.failures[k];
    if (other.documentLength !== undefined) {
      if (this.documentLength === undefined) this.documentLength = other.documentLength;
      else if (other.documentLength !== this.documentLength) this.failures.length += other.complete - other.failures.length;
    }
    this.non2xx += other.non2xx;
    for (const [k, v] of Object.entries(other.statuses)) this.statuses[k] = (this.statuses[k] ?? 0) + v;
    this.keepAliveRequests += other.keepAliveRequests;
    this.totalBytes += other.totalBytes;
    this.htmlBytes += other.htmlBytes;
    this.serverSoftware ??= other.serverSoftware;
    for (const [k, v] of Object.entries(other.errors)) this.error(k, v);
    this.total.merge(other.total);
    this.connect.merge(other.connect);
    this.waiting.merge(other.waiting);
    this.processing.merge(other.processing);
    if (other.uncorrected !== undefined) {
      this.uncorrected ??= new Histogram();
      this.uncorrected.merge(other.uncorrected);
    }
  }
}
