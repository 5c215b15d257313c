// sys.clock: the cost of reading the monotonic clock. With the TSC or kvm-clock a read is
// a few tens of nanoseconds in the vDSO, never leaving user mode; with hpet or acpi_pm it
// is a system call plus, in a guest, an exit to the hypervisor per read, often 1–5 µs.
// Every timestamp a guest takes (schedulers, databases, tracing) pays it. The runner
// attaches the clocksource to every sample, so it is reported beside this cost.
import { calibrate, consume, timeRun } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/**
 * `iterations` reads of performance.now() (clock_gettime(CLOCK_MONOTONIC) underneath).
 * Each read is summed and the sum consumed; a clock read is a native call the JIT can
 * neither predict nor hoist.
 */
export function clockReads(iterations: number): number {
  let sum = 0;
  for (let i = 0; i < iterations; i++) sum += performance.now();
  return sum;
}

export type ClockSettings = Record<string, never>;

export const sysClock: BenchmarkDefinition<ClockSettings> = {
  id: 'sys.clock',
  description: 'cost of one monotonic clock read (performance.now, clock_gettime underneath)',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'read', unit: 'ns', direction: 'lower', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('sys.clock', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    const run = (n: number): void => consume(clockReads(n) % 1e6);
    const reads = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { call: 'performance.now' },
      async trial() {
        return { read: (timeRun(run, reads) / reads) * 1e9 };
      },
    };
  },
};
