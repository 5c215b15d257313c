// The collector's records in the protocol's shapes, for gRPC answers.
import {
  directionToWire,
  RunStatus as WireRunStatus,
  type BenchmarkComparison,
  type CompareResponse,
  type Inventory,
  type Run,
  sampleToWire as toWire,
  type Sample,
} from '@guestbench/proto';
import type { CompareResult } from '../compare/compare';
import type { InventoryRecord, RunRecord, RunStatus, SampleRecord } from '../model';

const STATUS: Record<RunStatus, WireRunStatus> = {
  running: WireRunStatus.RUN_STATUS_RUNNING,
  completed: WireRunStatus.RUN_STATUS_COMPLETED,
  partial: WireRunStatus.RUN_STATUS_PARTIAL,
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
    failedBenchmarks: r.failedBenchmarks.map((f) => ({ ...f })),
  };
}

/** Stored samples are checked at ingest (trial_count equals the trials), so the protocol's shape follows from the fields. */
export const sampleToWire = (s: SampleRecord): Sample => toWire(s);

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
        category: cat.category,
        geomean: cat.geomean,
        benchmarks: cat.benchmarks,
        ciLow: cat.ciLow,
        ciHigh: cat.ciHigh,
        medianHalfWidth: cat.medianHalfWidth,
      })),
      benchmarks: g.benchmarks.map((b): BenchmarkComparison => ({
        benchmarkId: b.benchmarkId,
        metric: b.metric,
        unit: b.unit,
        direction: directionToWire(b.direction),
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
      })),
    })),
  };
}
