// Benchmark ids ("cpu.int32": category.name) and sample ids ("<run id>:<benchmark>:<metric>").

/** The category of a benchmark id: the part before the first dot ("cpu" for "cpu.int32"). */
export function categoryOf(benchmarkId: string): string {
  const dot = benchmarkId.indexOf('.');
  return dot < 0 ? benchmarkId : benchmarkId.slice(0, dot);
}

/**
 * A sample's id: the run id, the benchmark and the metric, so a resend carries the same id
 * and the collector stores it once.
 */
export function sampleId(runId: string, benchmarkId: string, metric: string): string {
  return `${runId}:${benchmarkId}:${metric}`;
}

/**
 * Splits a sample id into its parts. Benchmark ids and metrics hold no ':' (see limits.ts),
 * so the last two ':' separate them; the run id may hold ':' itself. Undefined when the id
 * does not have the three parts.
 */
export function parseSampleId(id: string): { runId: string; benchmarkId: string; metric: string } | undefined {
  const last = id.lastIndexOf(':');
  const middle = last <= 0 ? -1 : id.lastIndexOf(':', last - 1);
  if (middle <= 0 || last === middle + 1 || last === id.length - 1) return undefined;
  return { runId: id.slice(0, middle), benchmarkId: id.slice(middle + 1, last), metric: id.slice(last + 1) };
}
