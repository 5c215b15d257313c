// The collector's records in the protocol's shapes, for gRPC answers.
import {
  Direction as WireDirection,
  RunStatus as WireRunStatus,
  type BenchmarkComparison,
  type CompareResponse,
  type Inventory,
  type Run,
  type Sample,
} from '@guestbench/proto';
import type { CompareResult } from '../compare/compare';
import type { InventoryRecord, RunRecord, RunStatus, SampleRecord } from '../model';

const STATUS: Record<RunStatus, WireRunStatus> = {
  running: WireRunStatus.RUN_STATUS_RUNNING,
  completed: WireRunStatus.RUN_STATUS_COMPLETED,
  failed: WireRunStatus.RUN_STATUS_FAILED,
  lost: WireRunStatus.RUN_STATUS_LOST,
  cancelled: WireRunStatus.RUN_STATUS_CANCELLED,
};

export function statusToWire(status: RunStatus): WireRunStatus {
  return STATUS[status];
}

export function inventoryToWire(i: InventoryRecord): Inventory {
  return { ...i };
}

export function runToWire(r: RunRecord): Run {
  return {
    id: r.id,
    agentId: r.agentId,
    hostname: r.hostname,
    platform: r.platform,
    declaredPlatform: r.declaredPlatform,
    detectedPlatform: r.detectedPlatform,
    label: r.label,
    profile: r.profile,
    agentVersion: r.agentVersion,
    status: STATUS[r.status],
    startedAtMs: r.startedAtMs,
    endedAtMs: r.endedAtMs ?? 0,
    error: r.error,
    sampleCount: r.sampleCount,
    inventory: inventoryToWire(r.inventory),
    evidence: r.evidence.map((e) => ({ ...e })),
    lastHeartbeatMs: r.lastHeartbeatMs,
  };
}

export function sampleToWire(s: SampleRecord): Sample {
  return {
    id: s.id,
    benchmarkId: s.benchmarkId,
    metric: s.metric,
    unit: s.unit,
    direction: s.direction === 'higher' ? WireDirection.DIRECTION_HIGHER_IS_BETTER : WireDirection.DIRECTION_LOWER_IS_BETTER,
    value: s.value,
    trials: [...s.trials],
    trialCount: s.trialCount,
    rsd: s.rsd,
    stealFraction: s.stealFraction,
    parameters: { ...s.parameters },
    primary: s.primary,
    clocksource: s.clocksource,
    durationSeconds: s.durationSeconds,
    finishedAtMs: s.finishedAtMs,
  };
}

export function compareToWire(c: CompareResult): CompareResponse {
  return {
    baseline: c.baseline,
    baselineRunIds: [...c.baselineRunIds],
    groups: c.groups.map((g) => ({
      platform: g.platform,
      label: g.label,
      runIds: [...g.runIds],
      hostnames: [...g.hostnames],
      inventory: inventoryToWire(g.inventory),
      evidence: g.evidence.map((e) => ({ ...e })),
      isBaseline: g.isBaseline,
      overallGeomean: g.overallGeomean,
      overallCiLow: g.overallCiLow,
      overallCiHigh: g.overallCiHigh,
      medianHalfWidth: g.medianHalfWidth,
      notes: g.notes.map((n) => n.text),
      categories: g.categories.map((cat) => ({
        category: cat.category, geomean: cat.geomean, benchmarks: cat.benchmarks, ciLow: cat.ciLow, ciHigh: cat.ciHigh, medianHalfWidth: cat.medianHalfWidth,
      })),
      benchmarks: g.benchmarks.map(
        (b): BenchmarkComparison => ({
          benchmarkId: b.benchmarkId,
          metric: b.metric,
          unit: b.unit,
          direction: b.direction === 'higher' ? WireDirection.DIRECTION_HIGHER_IS_BETTER : WireDirection.DIRECTION_LOWER_IS_BETTER,
          primary: b.primary,
          parameters: b.parameters,
          groupValue: b.groupValue,
          baselineValue: b.baselineValue ?? 0,
          relative: b.relative,
          ciLow: b.ciLow,
          ciHigh: b.ciHigh,
          groupTrials: b.groupTrials,
          baselineTrials: b.baselineTrials,
          groupRuns: b.groupRuns,
          baselineRuns: b.baselineRuns,
          flags: [...b.flags],
          groupRsd: b.groupRsd,
          baselineRsd: b.baselineRsd,
          groupSteal: b.groupSteal,
          ciMethod: b.ciMethod ?? '',
          halfWidth: b.halfWidth,
          minDetectable: b.minDetectable,
        }),
      ),
    })),
  };
}
