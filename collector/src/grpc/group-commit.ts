// Group commit for SubmitSamples: the calls that arrive together are written in one
// transaction, and each is acknowledged only after that transaction has committed.
import type { SampleRecord } from '../model';
import type { InsertResult, SampleBatch, Store } from '../store/store';

export interface GroupCommitOptions {
  /**
   * At most this many samples in one transaction; a call is never split, so one call of more
   * is written alone. @default 5000
   */
  readonly maxSamples?: number;
  /** Told about a group whose transaction failed (its calls are then written one by one). @default ignored */
  readonly onGroupError?: (err: unknown, calls: number) => void;
}

/** What became of one call's samples. */
export type GroupCommitOutcome =
  | { readonly ok: true; readonly result: InsertResult }
  /** Ids stored under another run (before, or by an earlier call of the same group): nothing of this call was written. */
  | { readonly ok: false; readonly elsewhere: readonly string[] };

interface Pending extends SampleBatch {
  readonly resolve: (outcome: GroupCommitOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Queues calls' samples and writes them in groups. One transaction is in flight at a time:
 * the calls that arrive while it commits (and every call handled in the same turn of the
 * event loop) form the next group, so a lone call waits for nothing and a busy collector
 * commits once for many calls.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private readonly maxSamples: number;

  constructor(
    private readonly store: Store,
    private readonly options: GroupCommitOptions = {},
  ) {
    this.maxSamples = options.maxSamples ?? 5000;
  }

  /** Resolves once the samples are committed (or refused); rejects when they could not be stored. */
  insert(runId: string, samples: readonly SampleRecord[]): Promise<GroupCommitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ runId, samples, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.writing || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // After the calls decoded in this turn have reached the queue too.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    let samples = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || samples + (this.queue[n]?.samples.length ?? 0) <= this.maxSamples)) {
      samples += this.queue[n]?.samples.length ?? 0;
      n++;
    }
    const group = this.queue.splice(0, n);
    try {
      await this.write(group);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  private async write(group: readonly Pending[]): Promise<void> {
    let unclaimed: Pending[];
    try {
      unclaimed = await this.refuseIdsOfOtherRuns(group);
    } catch (err: unknown) {
      for (const call of group) call.reject(err);
      return;
    }
    // A new sample id claimed by two runs in one group: the later call is refused, as it
    // would be had the earlier one been committed before it was checked.
    const owner = new Map<string, string>();
    const accepted: Pending[] = [];
    for (const call of unclaimed) {
      const elsewhere = call.samples.filter((s) => owner.has(s.id) && owner.get(s.id) !== call.runId).map((s) => s.id);
      if (elsewhere.length > 0) {
        call.resolve({ ok: false, elsewhere });
        continue;
      }
      for (const s of call.samples) owner.set(s.id, call.runId);
      accepted.push(call);
    }
    await this.commit(accepted);
  }

  /**
   * Refuses the calls that send an id stored under another run, and returns the others. Run
   * here, once the previous group has committed, it sees every earlier call of this collector.
   * One query for the whole group: '' is no run's id, so it names every id already stored;
   * only a call with such ids (a resend, or a thief) is then checked on its own.
   */
  private async refuseIdsOfOtherRuns(calls: readonly Pending[]): Promise<Pending[]> {
    const stored = new Set(
      await this.store.sampleIdsOwnedElsewhere(
        '',
        calls.flatMap((c) => c.samples.map((s) => s.id)),
      ),
    );
    if (stored.size === 0) return [...calls];
    const out: Pending[] = [];
    for (const call of calls) {
      const mine = call.samples.filter((s) => stored.has(s.id)).map((s) => s.id);
      const elsewhere = mine.length === 0 ? [] : await this.store.sampleIdsOwnedElsewhere(call.runId, mine);
      if (elsewhere.length > 0) call.resolve({ ok: false, elsewhere });
      else out.push(call);
    }
    return out;
  }

  private async commit(accepted: readonly Pending[]): Promise<void> {
    if (accepted.length === 0) return;
    try {
      const results = await this.store.insertSampleBatches(accepted.map(({ runId, samples }) => ({ runId, samples })));
      accepted.forEach((call, i) => {
        const result = results[i];
        if (result === undefined) call.reject(new Error(`the store answered ${results.length} results for ${accepted.length} batches`));
        else call.resolve({ ok: true, result });
      });
    } catch (err: unknown) {
      if (accepted.length === 1) {
        accepted[0]?.reject(err);
        return;
      }
      // One bad call must not fail the others: each is written alone, and only what fails alone fails.
      this.options.onGroupError?.(err, accepted.length);
      for (const call of accepted) {
        try {
          const [result] = await this.store.insertSampleBatches([{ runId: call.runId, samples: call.samples }]);
          if (result === undefined) throw new Error('the store answered no result for one batch');
          call.resolve({ ok: true, result });
        } catch (alone: unknown) {
          call.reject(alone);
        }
      }
    }
  }
}
