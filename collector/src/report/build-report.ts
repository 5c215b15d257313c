// Gathers everything a report shows, once, as plain data that every format renders: the
// comparison, each group's stability (how its runs ended, how long agents went silent,
// boot-to-agent time) and the inventory of each system.
import { compare, groupSelected, parseGroupSpec, type CompareResult } from '../compare/compare';
import { configurationView, type ConfigurationView } from '../compare/configuration-view';
import { groupKey, type MachineFacts, type RunRecord, type RunStatus } from '../model';
import type { ReportQuery } from '../query/parse-report-query';
import type { Store } from '../store/store';

export interface RunProblem {
  readonly runId: string;
  readonly hostname: string;
  readonly status: RunStatus;
  readonly error: string;
  readonly startedAtMs: number;
}

export interface StabilityRow {
  readonly key: string;
  readonly platform: string;
  readonly label: string;
  readonly isBaseline: boolean;
  readonly runs: number;
  readonly byStatus: Readonly<Record<RunStatus, number>>;
  /**
   * The silence before each ended run's end (its last heartbeat to its end): short for a
   * healthy run, the whole timeout for a lost one. Only the last heartbeat is stored, so this
   * is the one gap that can be known afterwards.
   */
  readonly silenceBeforeEnd: { readonly runs: number; readonly medianMs: number; readonly maxMs: number } | undefined;
  /** The longest silence of a run still running, up to the report's time. */
  readonly longestRunningSilenceMs: number | undefined;
  /** The group's `boot.to_agent` value (kernel start to agent ready), when measured. */
  readonly bootToAgent: { readonly seconds: number; readonly runs: number } | undefined;
  /** The newest partial, failed and lost runs, with their error (a partial run's: each failed benchmark and why). */
  readonly problems: readonly RunProblem[];
}

export interface SystemRow extends MachineFacts {
  /** The groups the system ran in, in the report's order. */
  readonly groups: readonly string[];
  readonly agentId: string;
  readonly hostname: string;
  readonly platform: string;
  readonly declaredPlatform: string;
  readonly detectedPlatform: string;
  readonly agentVersion: string;
  readonly runs: number;
  readonly lastRunAtMs: number;
}

export interface ReportData {
  readonly generatedAtMs: number;
  readonly query: ReportQuery;
  readonly comparison: CompareResult;
  readonly stability: readonly StabilityRow[];
  readonly systems: readonly SystemRow[];
  /** The configuration each lab group was recorded with, and the effect of each setting. */
  readonly configurations: ConfigurationView;
}

const STATUSES: readonly RunStatus[] = ['completed', 'partial', 'failed', 'lost', 'cancelled', 'running'];
const PROBLEMS_SHOWN = 5;

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function stabilityOf(key: string, runs: readonly RunRecord[], isBaseline: boolean, comparison: CompareResult, nowMs: number): StabilityRow {
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
  for (const r of runs) byStatus[r.status] += 1;
  const gaps = runs.flatMap((r) => (r.endedAtMs === undefined ? [] : [Math.max(0, r.endedAtMs - r.lastHeartbeatMs)]));
  const running = runs.filter((r) => r.status === 'running').map((r) => Math.max(0, nowMs - r.lastHeartbeatMs));
  const boot = comparison.groups
    .find((g) => g.key === key)
    ?.benchmarks.filter((b) => b.benchmarkId === 'boot.to_agent')
    .sort((a, b) => Number(b.primary) - Number(a.primary) || b.groupRuns - a.groupRuns)[0];
  const first = runs[0] as RunRecord;
  return {
    key,
    platform: first.platform,
    label: first.label,
    isBaseline,
    runs: runs.length,
    byStatus,
    silenceBeforeEnd: gaps.length === 0 ? undefined : { runs: gaps.length, medianMs: median(gaps), maxMs: Math.max(...gaps) },
    longestRunningSilenceMs: running.length === 0 ? undefined : Math.max(...running),
    bootToAgent: boot === undefined ? undefined : { seconds: boot.groupValue, runs: boot.groupRuns },
    problems: runs
      .filter((r) => r.status === 'partial' || r.status === 'failed' || r.status === 'lost')
      .slice(0, PROBLEMS_SHOWN)
      .map((r) => ({
        runId: r.id,
        hostname: r.hostname,
        status: r.status,
        startedAtMs: r.startedAtMs,
        error: r.failedBenchmarks.length === 0 ? r.error : `failed benchmarks: ${r.failedBenchmarks.map((f) => `${f.benchmarkId} (${f.reason})`).join('; ')}`,
      })),
  };
}

/** Builds the report for `query` from `store`, as of `nowMs`. */
export async function buildReport(store: Store, query: ReportQuery, nowMs: number = Date.now()): Promise<ReportData> {
  const options = { baseline: query.baseline, groups: query.groups, filter: query.filter };
  const comparison = await compare(store, options);
  const b = parseGroupSpec(query.baseline);
  const baselineKey = groupKey(b.platform, b.label);
  // Every run the report covers, whatever its status: stability counts the ones that failed.
  const f = query.filter;
  const runs = (await store.listRuns({ hostname: f.hostname, since: f.since, until: f.until })).filter((r) => groupSelected(r, baselineKey, options));
  const byGroup = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const key = groupKey(r.platform, r.label);
    byGroup.set(key, [...(byGroup.get(key) ?? []), r]);
  }
  // The comparison's order (baseline first), then groups that have no finished run yet.
  const order = [...comparison.groups.map((g) => g.key), ...[...byGroup.keys()].filter((k) => !comparison.groups.some((g) => g.key === k)).sort()];
  const stability = order.flatMap((key) => {
    const list = byGroup.get(key);
    return list === undefined ? [] : [stabilityOf(key, list, key === baselineKey, comparison, nowMs)];
  });
  const byAgent = new Map<string, RunRecord[]>();
  for (const r of runs) byAgent.set(r.agentId, [...(byAgent.get(r.agentId) ?? []), r]);
  const systems: SystemRow[] = [...byAgent.values()].map((list) => {
    const newest = list[0] as RunRecord; // listRuns is newest first
    const groups = [...new Set(list.map((r) => groupKey(r.platform, r.label)))];
    return {
      groups,
      agentId: newest.agentId,
      hostname: newest.hostname,
      platform: newest.platform,
      declaredPlatform: newest.declaredPlatform,
      detectedPlatform: newest.detectedPlatform,
      agentVersion: newest.agentVersion,
      runs: list.length,
      lastRunAtMs: newest.startedAtMs,
      inventory: newest.inventory,
      evidence: newest.evidence,
    };
  });
  const rank = new Map(order.map((k, i) => [k, i]));
  const first = (s: SystemRow): number => Math.min(...s.groups.map((g) => rank.get(g) ?? order.length));
  for (const s of systems) (s.groups as string[]).sort((x, y) => (rank.get(x) ?? 0) - (rank.get(y) ?? 0));
  systems.sort((x, y) => first(x) - first(y) || (x.hostname < y.hostname ? -1 : x.hostname > y.hostname ? 1 : 0));
  const all = await configurationView(store, f);
  const shown = new Set(order);
  const configurations = {
    groups: all.groups.filter((g) => shown.has(g.key)),
    effects: all.effects.filter((e) => shown.has(e.group) && shown.has(e.referenceGroup)),
  };
  return { generatedAtMs: nowMs, query, comparison, stability, systems, configurations };
}
