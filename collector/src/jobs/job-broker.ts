// Hands jobs to daemon-mode agents: a job is stored with one assignment per chosen agent,
// chosen from the fleet's presence in the store, and whichever collector holds the agent's
// WaitForJob is woken at once (the store's job notifications, with a poll as fallback). The
// agents woken together take their jobs together, a few queries for thousands of agents.
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
  /** Told when a poll, the take for woken agents or a give-back fails (the poll, or a retake, mends it). @default ignored */
  readonly onPollError?: (err: unknown) => void;
  /** Told when a job taken for an agent was given back (giveBack). @default ignored */
  readonly onReleased?: (agentId: string, jobId: string) => void;
  /**
   * A job taken this long ago of which the agent has no run, when the agent asks for a job
   * again, was never handed over (the collector that took it died with the answer on the
   * way): it is handed out again. @default 2000
   */
  readonly retakeAfterMs?: number;
}

/** Agents taken for in one query at most: a query's time stays short beside the calls sharing the pool. */
const TAKE_BATCH = 500;

/** A job taken for an agent, with the time its take wrote (to give back that take only). */
export interface TakenJob {
  readonly job: JobRecord;
  readonly takenAtMs: number;
}

/** One open WaitForJob: handed its job, or ended without one (timeout, abort, close). */
type Waiter = (taken: TakenJob | undefined) => void;

export class JobBroker {
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Agents woken since the last take, and whether a take is under way. */
  private readonly woken = new Set<string>();
  private taking = false;
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
  async waitFor(agentId: string, waitMs: number, signal: AbortSignal): Promise<TakenJob | undefined> {
    const deadline = Date.now() + waitMs;
    // An agent that asks for a job holds none: one it was given and never started is retaken,
    // on this first look only (two calls open at once still take each job once).
    if (signal.aborted || this.closed) return undefined;
    const takenAtMs = Date.now();
    const job = await this.store.takePendingJob(agentId, takenAtMs, takenAtMs - (this.options.retakeAfterMs ?? 2000));
    if (job !== undefined) return { job, takenAtMs };
    const left = deadline - Date.now();
    if (left <= 0 || signal.aborted || this.closed) return undefined;
    // From here the broker takes for this agent, with every other agent woken at the same time.
    return new Promise<TakenJob | undefined>((resolve) => {
      const set = this.waiters.get(agentId) ?? new Set<Waiter>();
      this.waiters.set(agentId, set);
      const done: Waiter = (handed) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', ended);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(agentId) === set) this.waiters.delete(agentId);
        resolve(handed);
      };
      const ended = (): void => done(undefined);
      const timer = setTimeout(ended, left);
      signal.addEventListener('abort', ended);
      set.add(done);
    });
  }

  private wake(agentId: string): void {
    if (!this.waiters.has(agentId)) return;
    this.woken.add(agentId);
    if (!this.taking) void this.takeForWoken();
  }

  /**
   * Takes the jobs of every woken agent still waiting, TAKE_BATCH at a time, and hands each to
   * one of its waits. A job whose wait ended meanwhile is given back at once.
   */
  private async takeForWoken(): Promise<void> {
    this.taking = true;
    try {
      // Let the wakes of one notification (or poll) gather first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.woken.size > 0 && !this.closed) {
        for (const id of [...this.woken]) if (!this.waiters.has(id)) this.woken.delete(id);
        const batch = [...this.woken].slice(0, TAKE_BATCH);
        for (const id of batch) this.woken.delete(id);
        if (batch.length === 0) break;
        let jobs: Map<string, JobRecord>;
        const takenAtMs = Date.now();
        try {
          jobs = await this.store.takePendingJobs(batch, takenAtMs);
        } catch (err: unknown) {
          // They keep waiting; the next poll finds their jobs still pending and wakes them again.
          this.options.onPollError?.(err);
          continue;
        }
        for (const [agentId, job] of jobs) {
          const waiter = this.waiters.get(agentId)?.values().next().value;
          if (waiter !== undefined) waiter({ job, takenAtMs });
          // Not awaited: one by one, each behind the pool's queue, they held up the next batch
          // for a minute when thousands of waits ended together.
          else void this.giveBack(agentId, { job, takenAtMs });
        }
      }
    } finally {
      this.taking = false;
      // Woken while the last batch was on its way: go again.
      if (this.woken.size > 0 && !this.closed) void this.takeForWoken();
    }
  }

  /**
   * Gives back a job taken for an agent that did not get it: its wait had ended, or its call
   * went away as the job was taken. Undoes only that take (see Store.releaseJob).
   */
  async giveBack(agentId: string, { job, takenAtMs }: TakenJob): Promise<void> {
    try {
      await this.store.releaseJob(job.id, agentId, takenAtMs);
      this.options.onReleased?.(agentId, job.id);
    } catch (err: unknown) {
      // Not handed over and not given back: the agent's next WaitForJob retakes it (retakeAfterMs).
      this.options.onPollError?.(err);
    }
  }

  /** Ends every wait and stops listening (on shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.poller !== undefined) clearInterval(this.poller);
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w(undefined);
    await this.stopWatching?.();
    this.stopWatching = undefined;
  }
}
