// cpu.calls: non-inlined function calls, the 2009 study's "function calls" test. It times
// the JIT's call sequence (frame setup, argument passing, return), which is pure
// user-mode work and should match native in any guest.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from './calibrate';

type Step = (x: number) => number;

/**
 * Eight distinct functions (distinct source, so distinct closures V8 cannot merge). A call
 * site that sees more than one target is megamorphic to V8's call feedback, and TurboFan
 * inlines only a call site whose feedback names one target; cycling through eight
 * targets therefore keeps every call a real call. (%NeverOptimizeFunction and similar
 * natives are not used: they need --allow-natives-syntax and change what is measured.)
 */
export const CALL_TARGETS: readonly Step[] = [
  (x) => (x + 0x9e3779b9) | 0,
  (x) => x ^ 0x5bd1e995,
  (x) => Math.imul(x, 3),
  (x) => (x - 0x7f4a7c15) | 0,
  (x) => x ^ (x >>> 7),
  (x) => (x + (x << 3)) | 0,
  (x) => ~x,
  (x) => (x + 1) | 0,
];

/**
 * `iterations` calls through `targets` (length 8), each taking the previous result. The
 * chain is returned and consumed, so no call can be dropped, and because each call needs
 * the last one's result, the calls cannot overlap.
 */
export function callChain(targets: readonly Step[], iterations: number, seed: number): number {
  let x = seed | 0;
  for (let i = 0; i < iterations; i++) x = (targets[i & 7] as Step)(x);
  return x;
}

export type CallsSettings = Record<string, never>;

export const cpuCalls: BenchmarkDefinition<CallsSettings> = {
  id: 'cpu.calls',
  description: 'non-inlined function calls through a table of eight targets',
  metrics: [{ name: 'throughput', unit: 'Mcalls/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.calls', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    let seed = 7;
    const run = (n: number): void => {
      seed = callChain(CALL_TARGETS, n, seed);
      consume(seed);
    };
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'table-of-8' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: iterations / seconds / 1e6 };
      },
    };
  },
};
