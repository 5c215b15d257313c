// boot.to_agent: seconds from kernel start to the agent being ready, read from /proc/uptime
// when the agent starts. Not a timed benchmark (it happens once per boot), so it is not in
// the registry: a run that starts within a few minutes of boot carries it as an extra sample.
import fs from 'node:fs';
import path from 'node:path';
import type { BenchmarkOutcome } from '../runner';

/** Runs starting later than this after boot do not report it (the agent was not started by the boot). */
export const BOOT_WINDOW_SECONDS = 300;

/** The first field of /proc/uptime: seconds since the kernel started (wall time, suspend included). */
export function readUptimeSeconds(root = '/'): number | undefined {
  try {
    const first = fs.readFileSync(path.join(root, 'proc/uptime'), 'utf8').trim().split(/\s+/)[0];
    const v = Number(first);
    return Number.isFinite(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The boot.to_agent outcome for a run starting now, or undefined when the agent did not come
 * up within the window after boot (or /proc/uptime is unreadable).
 */
export function bootToAgentOutcome(agentReadyUptime: number | undefined, nowUptime: number | undefined, clocksource: string): BenchmarkOutcome | undefined {
  if (agentReadyUptime === undefined || nowUptime === undefined || nowUptime > BOOT_WINDOW_SECONDS) return undefined;
  return {
    ok: true,
    benchmarkId: 'boot.to_agent',
    samples: [
      {
        benchmarkId: 'boot.to_agent',
        metric: 'seconds',
        unit: 's',
        direction: 'lower',
        primary: true,
        value: agentReadyUptime,
        trials: [agentReadyUptime],
        rsd: 0,
        stealFraction: 0,
        parameters: {},
        clocksource,
        durationSeconds: 0,
        finishedAtMs: Date.now(),
        stopReason: 'stable',
        halfWidth: Number.POSITIVE_INFINITY,
        flags: [],
      },
    ],
  };
}
