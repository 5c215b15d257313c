// sys.syscall: the round trip of a cheap system call (getuid), as JavaScript pays it, and
// beside it the cost of the JavaScript-to-C++ binding alone. A guest's system calls do not
// normally exit to the hypervisor, but the guest kernel's entry path does vary: speculation
// mitigations chosen for the virtual CPU, and on Xen PV every system call goes through the
// hypervisor. Both metrics are times measured directly, so neither can come out negative
// (their difference, measured in separate loops, could: under a disturbance the binding's
// loop can take longer per call than the getuid loop, as one TCG guest showed at −18.9 ns).
import { types } from 'node:util';
import { calibrate, consume, timeRun } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { EVERY_PROFILE } from '../../profiles/profile-names';

/**
 * `iterations` calls of process.getuid(), a C++ binding that makes the getuid system call
 * each time (glibc and musl do not cache it). The results are summed and consumed, and a
 * native call is opaque to the JIT, so every call happens.
 */
export function getuidCalls(iterations: number): number {
  let sum = 0;
  for (let i = 0; i < iterations; i++) sum += (process.getuid as () => number)();
  return sum;
}

/**
 * The same number of calls of a C++ binding of the same kind that makes no system call
 * (util.types.isDate: one V8 type check). Its cost is the JavaScript-to-C++ transition,
 * which getuidCalls also pays; the difference is the system call itself.
 */
export function bindingCalls(iterations: number, probe: object): number {
  let sum = 0;
  for (let i = 0; i < iterations; i++) sum += types.isDate(probe) ? 1 : 2;
  return sum;
}

export type SyscallSettings = Record<string, never>;

export const sysSyscall: BenchmarkDefinition<SyscallSettings> = {
  id: 'sys.syscall',
  description: 'getuid system call round trip from JavaScript, and the binding cost alone',
  profiles: EVERY_PROFILE,
  metrics: [
    { name: 'call', unit: 'ns', direction: 'lower', primary: true },
    { name: 'binding', unit: 'ns', direction: 'lower', primary: false },
  ],
  parseSettings(raw) {
    parseNumberSettings('sys.syscall', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    if (typeof process.getuid !== 'function') throw new Error('sys.syscall: process.getuid is not available on this platform');
    const probe = {};
    const runCalls = (n: number): void => consume(getuidCalls(n));
    const runBinding = (n: number): void => consume(bindingCalls(n, probe));
    const half = context.profile.trialSeconds / 2;
    // (the binding is timed twice per trial, each for a quarter of it)
    const calls = calibrate(runCalls, half, { start: 1024 });
    const bindings = calibrate(runBinding, half / 2, { start: 1024 });
    return {
      parameters: { call: 'getuid' },
      async trial() {
        // The binding's cost is taken before and after the calls, and the smaller kept:
        // interference (a preemption, a stolen slice) only ever adds time, so the minimum is
        // the cleaner estimate of what the calls paid for the binding.
        const before = (timeRun(runBinding, bindings) / bindings) * 1e9;
        const call = (timeRun(runCalls, calls) / calls) * 1e9;
        const after = (timeRun(runBinding, bindings) / bindings) * 1e9;
        return { call, binding: Math.min(before, after) };
      },
    };
  },
};
