// Which agents are connected, to which collector, idle or busy: kept in the store, so that
// every collector sharing it sees the whole fleet (a job goes to an agent wherever it is).
import type { PresenceRecord, Store } from './store/store';

export type AgentPresence = PresenceRecord;

export interface PresenceOptions {
  /** This collector's name in the presence rows. */
  readonly collectorId: string;
  /** An agent unheard of for this long is no longer connected. */
  readonly timeoutMs: number;
  /**
   * An unchanged presence is written again after this long, so that a busy agent stays
   * connected without one write per call. @default timeoutMs / 4
   */
  readonly refreshMs?: number;
  readonly now?: () => number;
}

type PresenceUpdate = Partial<Pick<PresenceRecord, 'platform' | 'runId' | 'takesJobs'>>;

export class PresenceTracker {
  /** What this collector last wrote for each agent it heard from. */
  private readonly written = new Map<string, PresenceRecord>();
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(
    private readonly store: Store,
    private readonly options: PresenceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.refreshMs = options.refreshMs ?? Math.floor(options.timeoutMs / 4);
  }

  get collectorId(): string {
    return this.options.collectorId;
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /**
   * Records that the agent was heard from here. Writes to the store when something changed
   * (or `force`), and otherwise at most once per refresh interval.
   */
  async seen(agentId: string, update: PresenceUpdate = {}, force = false): Promise<void> {
    const now = this.now();
    const before = this.written.get(agentId);
    const next: PresenceRecord = {
      agentId,
      collectorId: this.options.collectorId,
      platform: update.platform ?? before?.platform ?? '',
      runId: update.runId ?? before?.runId ?? '',
      takesJobs: update.takesJobs ?? before?.takesJobs ?? false,
      lastSeenMs: now,
    };
    const same = before !== undefined && before.platform === next.platform && before.runId === next.runId && before.takesJobs === next.takesJobs;
    if (!force && same && now - before.lastSeenMs < this.refreshMs) return;
    this.written.set(agentId, next);
    await this.store.recordPresence(next);
  }

  /** Every connected agent of the fleet, from the store. */
  async connected(): Promise<PresenceRecord[]> {
    return this.store.listPresence(this.now() - this.options.timeoutMs);
  }

  /** Agents this collector heard from within the timeout (the per-collector metric). */
  localCount(): number {
    const cutoff = this.now() - this.options.timeoutMs;
    let n = 0;
    for (const [id, p] of this.written) {
      if (p.lastSeenMs >= cutoff) n++;
      else this.written.delete(id);
    }
    return n;
  }
}

/** Fleet totals from the shared store: what GET /api/v1/fleet answers. */
export interface FleetSummary {
  /** The collector that answered. */
  readonly collectorId: string;
  /** Agents heard of within this many milliseconds count as connected. */
  readonly connectedWithinMs: number;
  readonly agents: {
    readonly connected: number;
    readonly idle: number;
    readonly busy: number;
    /** Connected in daemon mode (they take jobs). */
    readonly daemon: number;
    readonly byPlatform: Readonly<Record<string, number>>;
  };
  /** Connected agents by the collector they last talked to. */
  readonly collectors: readonly { readonly id: string; readonly agents: number }[];
  readonly runs: { readonly total: number; readonly byStatus: Readonly<Record<string, number>> };
}

export async function fleetSummary(store: Store, presence: PresenceTracker, nowMs = Date.now()): Promise<FleetSummary> {
  const within = presence.timeoutMs;
  const [counts, runs] = await Promise.all([store.countPresence(nowMs - within), store.countRunsByStatus()]);
  const byPlatform: Record<string, number> = {};
  const byCollector = new Map<string, number>();
  let connected = 0;
  let busy = 0;
  let daemon = 0;
  for (const c of counts) {
    connected += c.agents;
    if (c.busy) busy += c.agents;
    if (c.takesJobs) daemon += c.agents;
    const platform = c.platform === '' ? 'unknown' : c.platform;
    byPlatform[platform] = (byPlatform[platform] ?? 0) + c.agents;
    byCollector.set(c.collectorId, (byCollector.get(c.collectorId) ?? 0) + c.agents);
  }
  const byStatus = Object.fromEntries(Object.entries(runs).filter(([, n]) => n !== undefined)) as Record<string, number>;
  return {
    collectorId: presence.collectorId,
    connectedWithinMs: within,
    agents: { connected, idle: connected - busy, busy, daemon, byPlatform },
    collectors: [...byCollector].map(([id, agents]) => ({ id, agents })),
    runs: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus },
  };
}
