// Gathers the samples of benchmarks that finish close together into one SubmitSamples call.
// The first sample of a batch starts its clock; the batch is sent when that clock reaches
// the linger time (at most 1 s) or when it is full, whichever comes first.
import type { Sample } from '@guestbench/proto';

/** The longest a sample may wait for others to join its batch. */
export const MAX_LINGER_MS = 1000;

export interface SampleBatcherOptions {
  /** How long the first sample of a batch waits for others. At most MAX_LINGER_MS. @default 500 */
  readonly lingerMs?: number;
  /** Samples per call; a full batch is sent at once. @default 100 */
  readonly maxSamples?: number;
}

export interface Batch {
  readonly samples: Sample[];
  /** When its first sample was added. */
  readonly queuedAtMs: number;
}

export class SampleBatcher {
  readonly lingerMs: number;
  readonly maxSamples: number;
  private samples: Sample[] = [];
  private queuedAtMs = 0;

  constructor(options: SampleBatcherOptions = {}) {
    this.lingerMs = options.lingerMs ?? 500;
    this.maxSamples = options.maxSamples ?? 100;
    if (!(this.lingerMs >= 0 && this.lingerMs <= MAX_LINGER_MS)) throw new RangeError(`lingerMs: 0 to ${MAX_LINGER_MS} ms, got ${this.lingerMs}`);
    if (!(Number.isInteger(this.maxSamples) && this.maxSamples >= 1)) throw new RangeError(`maxSamples: a whole number ≥ 1, got ${this.maxSamples}`);
  }

  get size(): number {
    return this.samples.length;
  }

  /** Adds samples; returns the batches that are full now (to send at once). */
  add(samples: readonly Sample[], nowMs: number): Batch[] {
    const full: Batch[] = [];
    for (const s of samples) {
      if (this.samples.length === 0) this.queuedAtMs = nowMs;
      this.samples.push(s);
      if (this.samples.length >= this.maxSamples) full.push(this.take());
    }
    return full;
  }

  /** When the waiting batch is due, or undefined when nothing waits. */
  dueAtMs(): number | undefined {
    return this.samples.length === 0 ? undefined : this.queuedAtMs + this.lingerMs;
  }

  /** Takes the waiting batch (e.g. when it is due, or at the run's end). */
  take(): Batch {
    const batch = { samples: this.samples, queuedAtMs: this.queuedAtMs };
    this.samples = [];
    return batch;
  }
}
