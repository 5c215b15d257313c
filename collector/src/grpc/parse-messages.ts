// Turns untrusted gRPC messages into the collector's typed records, once, at the boundary.
// A message that fails gets an error naming the field and what would be right; nothing of
// it is stored.
import {
  BENCHMARK_ID_PATTERN as BENCHMARK_PATTERN,
  Direction as WireDirection,
  MAX_PARAMETERS,
  MAX_SAMPLES_PER_MESSAGE,
  MAX_TRIALS,
  MAX_UNIT_LENGTH,
  MAX_PROFILE_SPEC_LENGTH,
  METRIC_PATTERN,
  parseId,
  parseLabel,
  parsePlatform,
  RunStatus as WireRunStatus,
  sampleId,
  type EndRunRequest,
  type EnrollRequest,
  type FailedBenchmark,
  type Inventory,
  type LogLine,
  type Sample,
  type StartRunRequest,
} from '@guestbench/proto';
import {
  EMPTY_INVENTORY,
  type AgentRecord,
  type FailedBenchmarkRecord,
  type InventoryRecord,
  type LogRecord,
  type RunStatus,
  type SampleRecord,
} from '../model';
import type { NewRun, RunEnd } from '../store/store';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Thrown inside the parsers and turned into a Parsed failure at their edge. */
class FieldError extends Error {}

function id(value: string, field: string): string {
  const parsed = parseId(value);
  if (!parsed.ok) throw new FieldError(`${field}: ${parsed.error}`);
  return value;
}

function bounded(value: string, field: string, max: number): string {
  if (value.length > max) throw new FieldError(`${field}: at most ${max} characters, got ${value.length}`);
  return value;
}

function finite(value: number, field: string, min = 0, max = Number.MAX_VALUE): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new FieldError(`${field}: must be a finite number from ${min} to ${max === Number.MAX_VALUE ? 'any size' : max}, got ${value}`);
  }
  return value;
}

/** A platform name; where `allowEmpty`, '' or 'auto' (the agent detects it) give ''. */
function platform(value: string, field: string, allowEmpty: boolean): string {
  if (allowEmpty && value === '') return '';
  const parsed = parsePlatform(value, { allowAuto: allowEmpty });
  if (!parsed.ok) throw new FieldError(`${field}: ${parsed.error}${allowEmpty ? ' (or empty)' : ''}`);
  return parsed.value === 'auto' ? '' : parsed.value;
}

/** A label, or '' for none. */
function label(value: string, field: string): string {
  if (value === '') return value;
  const parsed = parseLabel(value);
  if (!parsed.ok) throw new FieldError(`${field}: ${parsed.error} (or empty)`);
  return value;
}

function inventory(inv: Inventory | undefined): InventoryRecord {
  if (inv === undefined) return EMPTY_INVENTORY;
  return {
    hostname: bounded(inv.hostname, 'inventory.hostname', 255),
    cpuModel: bounded(inv.cpuModel, 'inventory.cpu_model', 255),
    cpus: finite(inv.cpus, 'inventory.cpus', 0, 65_536),
    memoryBytes: finite(inv.memoryBytes, 'inventory.memory_bytes'),
    kernel: bounded(inv.kernel, 'inventory.kernel', 255),
    os: bounded(inv.os, 'inventory.os', 255),
    arch: bounded(inv.arch, 'inventory.arch', 64),
    clocksource: bounded(inv.clocksource, 'inventory.clocksource', 64),
    cpuFlags: bounded(inv.cpuFlags, 'inventory.cpu_flags', 8192),
    systemVendor: bounded(inv.systemVendor, 'inventory.system_vendor', 255),
    systemModel: bounded(inv.systemModel, 'inventory.system_model', 255),
    nodeVersion: bounded(inv.nodeVersion, 'inventory.node_version', 64),
  };
}

function wrap<T>(fn: () => T): Parsed<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err: unknown) {
    if (err instanceof FieldError) return { ok: false, error: err.message };
    throw err;
  }
}

export function parseEnroll(req: EnrollRequest, nowMs: number): Parsed<AgentRecord> {
  return wrap(() => {
    const declaredPlatform = platform(req.declaredPlatform, 'declared_platform', true);
    const detected = req.detected;
    const detectedPlatform = detected === undefined ? 'other' : platform(detected.platform, 'detected.platform', false);
    const evidence = (detected?.evidence ?? []).slice(0, 65).map((e, i) => ({
      source: bounded(e.source, `detected.evidence[${i}].source`, 256),
      value: bounded(e.value, `detected.evidence[${i}].value`, 1024),
      suggests: bounded(e.suggests, `detected.evidence[${i}].suggests`, 32),
    }));
    if ((detected?.evidence.length ?? 0) > 64) throw new FieldError('detected.evidence: at most 64 entries');
    return {
      id: id(req.agentId, 'agent_id'),
      hostname: bounded(req.hostname, 'hostname', 255),
      declaredPlatform,
      detectedPlatform,
      platform: declaredPlatform !== '' ? declaredPlatform : detectedPlatform,
      evidence,
      inventory: inventory(req.inventory),
      agentVersion: bounded(req.agentVersion, 'agent_version', 64),
      enrolledAtMs: nowMs,
    };
  });
}

export function parseStartRun(req: StartRunRequest, nowMs: number): Parsed<NewRun> {
  return wrap(() => ({
    id: id(req.runId, 'run_id'),
    agentId: id(req.agentId, 'agent_id'),
    label: label(req.label, 'label'),
    profile: bounded(req.profile, 'profile', MAX_PROFILE_SPEC_LENGTH),
    agentVersion: bounded(req.agentVersion, 'agent_version', 64),
    startedAtMs: req.startedAtMs > 0 ? finite(req.startedAtMs, 'started_at_ms') : nowMs,
    jobId: req.jobId === '' ? '' : id(req.jobId, 'job_id'),
  }));
}

function direction(value: WireDirection, field: string): 'higher' | 'lower' {
  if (value === WireDirection.DIRECTION_HIGHER_IS_BETTER) return 'higher';
  if (value === WireDirection.DIRECTION_LOWER_IS_BETTER) return 'lower';
  throw new FieldError(`${field}: must be DIRECTION_HIGHER_IS_BETTER or DIRECTION_LOWER_IS_BETTER, got ${String(value)}`);
}

function sample(s: Sample, runId: string, field: string): SampleRecord {
  const trials = s.trials;
  if (trials.length === 0 || trials.length > MAX_TRIALS) throw new FieldError(`${field}.trials: 1 to ${MAX_TRIALS} values, got ${trials.length}`);
  trials.forEach((t, i) => finite(t, `${field}.trials[${i}]`));
  if (s.trialCount !== trials.length) throw new FieldError(`${field}.trial_count: must equal the number of trials (${trials.length}), got ${s.trialCount}`);
  const parameters = Object.entries(s.parameters);
  if (parameters.length > MAX_PARAMETERS) throw new FieldError(`${field}.parameters: at most ${MAX_PARAMETERS} entries`);
  for (const [k, v] of parameters) {
    bounded(k, `${field}.parameters key`, 64);
    bounded(v, `${field}.parameters["${k.slice(0, 64)}"]`, 256);
  }
  const benchmarkId = s.benchmarkId;
  if (!BENCHMARK_PATTERN.test(benchmarkId) || benchmarkId.length > 64) {
    throw new FieldError(`${field}.benchmark_id: must look like category.name in lower case, got ${JSON.stringify(benchmarkId.slice(0, 80))}`);
  }
  if (!METRIC_PATTERN.test(s.metric))
    throw new FieldError(`${field}.metric: lower-case name up to 64 characters, got ${JSON.stringify(s.metric.slice(0, 80))}`);
  if (s.unit.length === 0) throw new FieldError(`${field}.unit: must not be empty`);
  // A sample id names its own run: no agent can file an id that belongs to another run
  // (run ids are public while a run goes on) and so block that run's real samples.
  const expectedId = sampleId(runId, benchmarkId, s.metric);
  if (s.id !== expectedId)
    throw new FieldError(
      `${field}.id: must be "<run_id>:<benchmark_id>:<metric>" of this run and sample, ${JSON.stringify(expectedId)}, got ${JSON.stringify(s.id.slice(0, 200))}`,
    );
  return {
    id: id(s.id, `${field}.id`),
    runId,
    benchmarkId,
    metric: s.metric,
    unit: bounded(s.unit, `${field}.unit`, MAX_UNIT_LENGTH),
    direction: direction(s.direction, `${field}.direction`),
    value: finite(s.value, `${field}.value`),
    trials: [...trials],
    trialCount: s.trialCount,
    rsd: finite(s.rsd, `${field}.rsd`),
    stealFraction: finite(s.stealFraction, `${field}.steal_fraction`, 0, 1),
    parameters: Object.fromEntries(parameters),
    primary: s.primary,
    clocksource: bounded(s.clocksource, `${field}.clocksource`, 64),
    durationSeconds: finite(s.durationSeconds, `${field}.duration_seconds`),
    finishedAtMs: finite(s.finishedAtMs, `${field}.finished_at_ms`),
    flags: sampleFlags(s.flags, `${field}.flags`),
  };
}

/** Parses every sample of a message; one bad sample rejects the whole message. */
export function parseSamples(runId: string, samples: readonly Sample[]): Parsed<SampleRecord[]> {
  return wrap(() => {
    id(runId, 'run_id');
    if (samples.length === 0) throw new FieldError('samples: at least one sample');
    if (samples.length > MAX_SAMPLES_PER_MESSAGE) throw new FieldError(`samples: at most ${MAX_SAMPLES_PER_MESSAGE} per message, got ${samples.length}`);
    const parsed = samples.map((s, i) => sample(s, runId, `samples[${i}]`));
    const seen = new Set<string>();
    parsed.forEach((s, i) => {
      if (seen.has(s.id)) throw new FieldError(`samples[${i}].id: ${s.id} appears twice in one message`);
      seen.add(s.id);
    });
    return parsed;
  });
}

const FLAG_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
const MAX_FLAGS = 16;

function sampleFlags(flags: readonly string[], field: string): string[] {
  if (flags.length > MAX_FLAGS) throw new FieldError(`${field}: at most ${MAX_FLAGS}, got ${flags.length}`);
  flags.forEach((f, i) => {
    if (!FLAG_PATTERN.test(f))
      throw new FieldError(`${field}[${i}]: lower-case words joined by "-", up to 64 characters, got ${JSON.stringify(f.slice(0, 80))}`);
  });
  return [...new Set(flags)];
}

const MAX_FAILED_BENCHMARKS = 256;

function failedBenchmarks(list: readonly FailedBenchmark[]): FailedBenchmarkRecord[] {
  if (list.length > MAX_FAILED_BENCHMARKS) throw new FieldError(`failed_benchmarks: at most ${MAX_FAILED_BENCHMARKS}, got ${list.length}`);
  return list.map((f, i) => {
    if (!BENCHMARK_PATTERN.test(f.benchmarkId) || f.benchmarkId.length > 64) {
      throw new FieldError(
        `failed_benchmarks[${i}].benchmark_id: must look like category.name in lower case, got ${JSON.stringify(f.benchmarkId.slice(0, 80))}`,
      );
    }
    if (f.reason.trim() === '') throw new FieldError(`failed_benchmarks[${i}].reason: must say why ${f.benchmarkId} failed`);
    return { benchmarkId: f.benchmarkId, reason: bounded(f.reason, `failed_benchmarks[${i}].reason`, 1000) };
  });
}

const END_STATUSES: ReadonlyMap<WireRunStatus, RunStatus> = new Map([
  [WireRunStatus.RUN_STATUS_COMPLETED, 'completed'],
  [WireRunStatus.RUN_STATUS_PARTIAL, 'partial'],
  [WireRunStatus.RUN_STATUS_FAILED, 'failed'],
  [WireRunStatus.RUN_STATUS_CANCELLED, 'cancelled'],
]);

export function parseEndRun(req: EndRunRequest, nowMs: number): Parsed<{ runId: string; end: RunEnd; sampleCount: number }> {
  return wrap(() => {
    const status = END_STATUSES.get(req.status);
    if (status === undefined)
      throw new FieldError(`status: must be RUN_STATUS_COMPLETED, RUN_STATUS_PARTIAL, RUN_STATUS_FAILED or RUN_STATUS_CANCELLED, got ${String(req.status)}`);
    const failed = failedBenchmarks(req.failedBenchmarks);
    if (status === 'partial' && failed.length === 0) throw new FieldError('failed_benchmarks: a partial run names at least one failed benchmark');
    if (status === 'completed' && failed.length > 0)
      throw new FieldError(`failed_benchmarks: a completed run has none, got ${failed.length}; end it as RUN_STATUS_PARTIAL`);
    return {
      runId: id(req.runId, 'run_id'),
      end: {
        status,
        error: bounded(req.error, 'error', 4096),
        endedAtMs: req.endedAtMs > 0 ? finite(req.endedAtMs, 'ended_at_ms') : nowMs,
        failedBenchmarks: failed,
      },
      sampleCount: req.sampleCount,
    };
  });
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const MAX_LOG_LINES = 1000;

export function parseLogs(agentId: string, runId: string, lines: readonly LogLine[]): Parsed<LogRecord[]> {
  return wrap(() => {
    id(agentId, 'agent_id');
    if (runId !== '') id(runId, 'run_id');
    if (lines.length > MAX_LOG_LINES) throw new FieldError(`lines: at most ${MAX_LOG_LINES} per message, got ${lines.length}`);
    return lines.map((l, i) => {
      if (!LOG_LEVELS.has(l.level))
        throw new FieldError(`lines[${i}].level: one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(l.level.slice(0, 20))}`);
      let fields: unknown = {};
      if (l.fieldsJson !== '') {
        bounded(l.fieldsJson, `lines[${i}].fields_json`, 16_384);
        try {
          fields = JSON.parse(l.fieldsJson);
        } catch {
          throw new FieldError(`lines[${i}].fields_json: not valid JSON`);
        }
        if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new FieldError(`lines[${i}].fields_json: must be a JSON object`);
      }
      return {
        agentId,
        runId,
        timeMs: finite(l.timeMs, `lines[${i}].time_ms`),
        level: l.level,
        message: bounded(l.message, `lines[${i}].message`, 4096),
        fieldsJson: JSON.stringify(fields),
      };
    });
  });
}
