// Hands jobs to daemon-mode agents: a job is stored with one assignment per chosen agent,
// and an agent waiting in WaitForJob is woken as soon as one is assigned to it.
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

export class JobBroker {
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly store: Store, private readonly presence: PresenceTracker) {}

  /** Assigns a run to every connected, idle, job-taking agent of the platform ('' for any). */
  async create(request: { platform: string; profile: string; label: string }, nowMs = Date.now()): Promise<JobView> {
    const agents = this.presence
      .connected()
      .filter((a) => a.takesJobs && a.runId === '' && (request.platform === '' || a.platform === request.platform))
      .map((a) => a.agentId)
      .sort();
    if (agents.length === 0) {
      const what = request.platform === '' ? 'any platform' : `platform ${request.platform}`;
      throw new NoAgentsError(`no connected, idle agent in daemon mode for ${what}; start \`guestbench-agent daemon\` in the guests first`);
    }
    const job: JobRecord = { id: randomUUID(), platform: request.platform, profile: request.profile, label: request.label, createdAtMs: nowMs };
    await this.store.createJob(job, agents);
    for (const agentId of agents) this.wake(agentId);
    const view = await this.store.getJob(job.id);
    if (view === undefined) throw new Error(`job ${job.id} vanished after insert`);
    return view;
  }

  private closed = false;

  /** Whether close() was called: waits end at once, so agents come back to a new collector. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The next job for this agent, waiting up to `waitMs` for one; undefined on timeout, abort or close. */
  async waitFor(agentId: string, waitMs: number, signal: AbortSignal): Promise<JobRecord | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.closed) return undefined;
      const job = await this.store.takePendingJob(agentId, Date.now());
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

  /** Ends every wait (on shutdown) and every later one. */
  close(): void {
    this.closed = true;
    for (const agentId of this.waiters.keys()) this.wake(agentId);
  }
}
