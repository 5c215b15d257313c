// Which agents the collector has heard from recently: "connected" for metrics, and the
// agents a job can go to.

export interface AgentPresence {
  readonly agentId: string;
  readonly platform: string;
  readonly lastSeenMs: number;
  /** The run it is busy with, '' when idle. */
  readonly runId: string;
  /** Whether it waits for jobs (daemon mode). */
  readonly takesJobs: boolean;
}

export class PresenceTracker {
  private readonly agents = new Map<string, AgentPresence>();

  /** @param timeoutMs an agent unheard of for this long is no longer connected. */
  constructor(private readonly timeoutMs: number, private readonly now: () => number = Date.now) {}

  seen(agentId: string, update: Partial<Omit<AgentPresence, 'agentId' | 'lastSeenMs'>> = {}): void {
    const before = this.agents.get(agentId);
    this.agents.set(agentId, {
      agentId,
      platform: update.platform ?? before?.platform ?? '',
      runId: update.runId ?? before?.runId ?? '',
      takesJobs: update.takesJobs ?? before?.takesJobs ?? false,
      lastSeenMs: this.now(),
    });
  }

  connected(): AgentPresence[] {
    const cutoff = this.now() - this.timeoutMs;
    return [...this.agents.values()].filter((a) => a.lastSeenMs >= cutoff);
  }

  count(): number {
    return this.connected().length;
  }
}
