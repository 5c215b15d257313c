// Reads the CPU time counters of /proc/stat, so a benchmark can say what share of the
// machine's time the hypervisor stole while it ran.
import fs from 'node:fs';
import path from 'node:path';

export interface CpuTimes {
  readonly total: number;
  readonly steal: number;
}

/** Parses the aggregate "cpu" line of /proc/stat; undefined when it is not there. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
  // counted in user/nice, so it is left out of the total.
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return undefined;
  const total = fields.reduce((a, b) => a + b, 0);
  return { total, steal: fields[7] as number };
}

export function readCpuTimes(root = '/'): CpuTimes | undefined {
  try {
    return parseProcStat(fs.readFileSync(path.join(root, 'proc/stat'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Share of CPU time stolen between two readings, 0..1; 0 when either reading is missing. */
export function stealFraction(before: CpuTimes | undefined, after: CpuTimes | undefined): number {
  if (before === undefined || after === undefined) return 0;
  const total = after.total - before.total;
  const steal = after.steal - before.steal;
  if (total <= 0 || steal <= 0) return 0;
  return Math.min(1, steal / total);
}
