// Hands jobs to daemon-mode agents: a job is stored with one assignment per chosen agent,
// chosen from the fleet's presence in the store, and whichever collector holds the agent's
// WaitForJob is woken at once (the store's job notifications, with a poll as fallback).
import { randomUUID } from 'node:crypto';
import type { JobRecord, JobView } from '../model';
import type { PresenceTracker } from '../presence';
import type { Store } from '../store/store';

export class NoAgentsError extends Error {
  override readonly name = 'NoAgentsError';
}

export function isNoAgentsError(err: unknown): err is NoAgentsError {
  return err instanceof NoAgentsError;
}

export interface JobBrokerOptions {
  /**
   * How often the agents waiting here are checked for jobs in one query, in case a
   * notification was missed (the LISTEN connection was down, or a backend without them).
   * @default 2000
   */
  readonly pollMs?: number;
  /** Told when a poll fails. @default ignored */
  readonly onPollError?: (err: unknown) => void;
  /**
   * A job taken this long ago of which the agent has no run, when the agent asks for a job
   * again, was never handed over (the collector that took it died with the answer on the
   * way): it is handed out again. @default 2000
   */
  readonly retakeAfterMs?: number;
}

export class JobBroker {
  private readonly waiters = new Map<string, Set<() => void>>();
  private stopWatching: (() => Promise<void>) | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly presence: PresenceTracker,
    private readonly options: JobBrokerOptions = {},
  ) {}

  /** Starts listening for jobs created by any collector, and the fallback poll. */
  async start(): Promise<void> {
    this.stopWatching = await this.store.watchJobAssignments((agentIds) => {
      for (const id of agentIds) this.wake(id);
    });
    this.poller = setInterval(() => void this.poll(), this.options.pollMs ?? 2000);
    this.poller.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.waiters.size === 0) return;
    this.polling = true;
    try {
      for (const id of await this.store.agentsWithPendingJobs([...this.waiters.keys()])) this.wake(id);
    } catch (err: unknown) {
      this.options.onPollError?.(err);
    } finally {
      this.polling = false;
    }
  }

  /** Assigns a run to every connected, idle, job-taking agent of the platform ('' for any), on any collector. */
  async create(request: { platform: string; profile: string; label: string }, nowMs = Date.now()): Promise<JobView> {
    const agents = (await this.presence.connected())
      .filter((a) => a.takesJobs && a.runId === '' && (request.platform === '' || a.platform === request.platform))
      .map((a) => a.agentId);
    if (agents.length === 0) {
      const what = request.platform === '' ? 'any platform' : `platform ${request.platform}`;
      throw new NoAgentsError(`no connected, idle agent in daemon mode for ${what}; start \`guestbench-agent daemon\` in the guests first`);
    }
    const job: JobRecord = { id: randomUUID(), platform: request.platform, profile: request.profile, label: request.label, createdAtMs: nowMs };
    // The store tells every watching collector (this one too) which agents to wake.
    await this.store.createJob(job, agents);
    const view = await this.store.getJob(job.id);
    if (view === undefined) throw new Error(`job ${job.id} vanished after insert`);
    return view;
  }

  /** Whether close() was called: waits end at once, so agents come back to a new collector. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The next job for this agent, waiting up to `waitMs` for one; undefined on timeout, abort or close. */
  async waitFor(agentId: string, waitMs: number, signal: AbortSignal): Promise<JobRecord | undefined> {
    const deadline = Date.now() + waitMs;
    // An agent that asks for a job holds none: one it was given and never started is retaken,
    // on the first look only, so that two calls open at once still take each job once.
    let retakeBefore: number | undefined = Date.now() - (this.options.retakeAfterMs ?? 2000);
    for (;;) {
      if (signal.aborted || this.closed) return undefined;
      const job = await this.store.takePendingJob(agentId, Date.now(), retakeBefore);
      retakeBefore = undefined;
      if (job !== undefined) return job;
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted || this.closed) return undefined;
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(agentId) ?? new Set<() => void>();
        this.waiters.set(agentId, set);
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          set.delete(done);
          if (set.size === 0 && this.waiters.get(agentId) === set) this.waiters.delete(agentId);
          resolve();
        };
        const timer = setTimeout(done, left);
        signal.addEventListener('abort', done);
        set.add(done);
      });
    }
  }

  private wake(agentId: string): void {
    for (const w of [...(this.waiters.get(agentId) ?? [])]) w();
  }

  /** Ends every wait and stops listening (on shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.poller !== undefined) clearInterval(this.poller);
    for (const agentId of [...this.waiters.keys()]) this.wake(agentId);
    await this.stopWatching?.();
    this.stopWatching = undefined;
  }
}
