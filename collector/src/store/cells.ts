// The comparison's aggregation, written once: the sufficient statistics of each cell (see
// CellAggregate) over a set of finished runs' samples. The same SELECT answers a comparison
// on PostgreSQL and one narrowed by host or time on SQLite, and fills SQLite's cell_stats as
// runs finish (and late samples arrive).
import type { Direction } from '../model';
import type { Dialect } from './dialect';
import type { CellAggregate } from './store';

const KEY = ['platform', 'label', 'benchmark_id', 'metric', 'unit', 'direction', 'parameters_json', 'agent_major'];
const STATS = [
  'is_primary',
  'runs',
  'value_n',
  'value_log_sum',
  'value_log_sumsq',
  'value_sum',
  'value_min',
  'trial_n',
  'trial_log_sum',
  'trial_log_sumsq',
  'trial_sum',
  'trial_min',
  'max_rsd',
  'max_steal',
];
/** Kept from migration 11 on (before it, samples had no flags or cell_stats no column for them). */
const DOUBT = 'doubt_n';

/**
 * Flags by which the agent says a sample may measure its harness rather than the platform: the
 * trials had not settled, or a cpu kernel ran (or may have run) code V8 had not optimized.
 */
export const DOUBT_FLAGS = ['not-settled', 'not-optimized', 'optimization-unverified'] as const;

/** Which columns a statement fills: `doubt` from migration 11 on (the default). */
export interface CellColumns {
  readonly doubt?: boolean;
}

/** The cell_stats table (the cells of every finished run), where the dialect keeps one. */
export function cellStatsTable(d: Dialect): string {
  return `CREATE TABLE cell_stats (
    platform TEXT NOT NULL, label TEXT NOT NULL, benchmark_id TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
    direction TEXT NOT NULL, parameters_json TEXT NOT NULL, agent_major TEXT NOT NULL,
    is_primary INTEGER NOT NULL, runs ${d.int} NOT NULL,
    value_n ${d.int} NOT NULL, value_log_sum ${d.real} NOT NULL, value_log_sumsq ${d.real} NOT NULL, value_sum ${d.real} NOT NULL, value_min ${d.real} NOT NULL,
    trial_n ${d.int} NOT NULL, trial_log_sum ${d.real} NOT NULL, trial_log_sumsq ${d.real} NOT NULL, trial_sum ${d.real} NOT NULL, trial_min ${d.real} NOT NULL,
    max_rsd ${d.real} NOT NULL, max_steal ${d.real} NOT NULL,
    PRIMARY KEY (${KEY.join(', ')}))`;
}

/**
 * The cells of the samples `s` of runs `r` that match `where` (which must say which runs are
 * finished). One sample per run and metric, so a run adds one to the runs of each of its cells.
 */
export function cellSelect(d: Dialect, where: string, columns: CellColumns = {}): string {
  const doubt = columns.doubt ?? true;
  const flagged = DOUBT_FLAGS.map((f) => `s.flags_json LIKE '%"${f}"%'`).join(' OR ');
  const logV = 'CASE WHEN s.value > 0 THEN ln(s.value) ELSE 0 END';
  const major = d.agentMajor('r.agent_version');
  return `SELECT r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, ${major} AS agent_major,
    MAX(CASE WHEN s.is_primary THEN 1 ELSE 0 END) AS is_primary, COUNT(DISTINCT s.run_id) AS runs, COUNT(*) AS value_n,
    SUM(${logV}) AS value_log_sum, SUM(${logV} * ${logV}) AS value_log_sumsq, SUM(s.value) AS value_sum, MIN(s.value) AS value_min,
    SUM(s.trial_n) AS trial_n, SUM(s.trial_log_sum) AS trial_log_sum, SUM(s.trial_log_sumsq) AS trial_log_sumsq,
    SUM(s.trial_sum) AS trial_sum, MIN(s.trial_min) AS trial_min, MAX(s.rsd) AS max_rsd, MAX(s.steal_fraction) AS max_steal${
      doubt
        ? `,
    SUM(CASE WHEN ${flagged} THEN 1 ELSE 0 END) AS ${DOUBT}`
        : ''
    }
  FROM samples s JOIN runs r ON r.id = s.run_id
  WHERE ${where}
  GROUP BY r.platform, r.label, s.benchmark_id, s.metric, s.unit, s.direction, s.parameters_json, ${major}`;
}

/** Adds the cells of the samples matching `where` to cell_stats. */
export function addCells(d: Dialect, where: string, columns: CellColumns = {}): string {
  const stats = (columns.doubt ?? true) ? [...STATS, DOUBT] : STATS;
  const merge = (c: string): string =>
    c === 'is_primary' || c.startsWith('max_')
      ? `${c} = ${d.greatest}(cell_stats.${c}, excluded.${c})`
      : c.endsWith('_min')
        ? `${c} = ${d.least}(cell_stats.${c}, excluded.${c})`
        : `${c} = cell_stats.${c} + excluded.${c}`;
  return `INSERT INTO cell_stats (${[...KEY, ...stats].join(', ')})
    ${cellSelect(d, where, columns)}
    ON CONFLICT (${KEY.join(', ')}) DO UPDATE SET ${stats.map(merge).join(', ')}`;
}

export interface CellRow {
  platform: string;
  label: string;
  benchmark_id: string;
  metric: string;
  unit: string;
  direction: string;
  parameters_json: string;
  agent_major: string;
  is_primary: number;
  runs: number;
  value_n: number;
  value_log_sum: number;
  value_log_sumsq: number;
  value_sum: number;
  value_min: number;
  trial_n: number;
  trial_log_sum: number;
  trial_log_sumsq: number;
  trial_sum: number;
  trial_min: number;
  max_rsd: number;
  max_steal: number;
  doubt_n: number;
}

export function toCell(r: CellRow): CellAggregate {
  return {
    platform: r.platform,
    label: r.label,
    benchmarkId: r.benchmark_id,
    metric: r.metric,
    unit: r.unit,
    direction: r.direction as Direction,
    primary: Number(r.is_primary) === 1,
    parameters: r.parameters_json,
    agentMajor: r.agent_major,
    runs: r.runs,
    valueN: r.value_n,
    valueLogSum: r.value_log_sum,
    valueLogSumSq: r.value_log_sumsq,
    valueSum: r.value_sum,
    valueMin: r.value_min,
    trialN: r.trial_n,
    trialLogSum: r.trial_log_sum,
    trialLogSumSq: r.trial_log_sumsq,
    trialSum: r.trial_sum,
    trialMin: r.trial_min,
    maxRsd: r.max_rsd,
    maxSteal: r.max_steal,
    doubtN: Number(r.doubt_n),
  };
}
