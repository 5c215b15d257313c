// cpu.calls: non-inlined function calls, the 2009 study's "function calls" test. It times
// the JIT's call sequence (frame setup, argument passing, return), which is pure
// user-mode work and should match native in any guest.
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { calibrate, consume, timeRun } from '../calibrate';
import { checkKernels, optimizeKernels, type Kernel } from '../optimized-code';
import { EVERY_PROFILE } from '../../profiles/profile-names';

type Step = (x: number) => number;

/**
 * Eight distinct functions (distinct source, so distinct closures V8 cannot merge). A call
 * site that has seen more than one target is megamorphic to V8's call feedback, and
 * TurboFan inlines only a call site whose feedback names one target, so calling all eight
 * from one site keeps every call a real call. (%NeverOptimizeFunction and similar natives
 * are not used: they need --allow-natives-syntax and change what is measured.)
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
 * `iterations` calls through `targets` (length 8): a run of calls of the first, then of the
 * second, and so on, each call taking the previous result. The call site in the inner loop
 * must have seen all eight targets before the JIT optimizes it (prepare makes sure), so
 * it is megamorphic and never inlined. Runs of one target
 * keep the indirect branch predictable: cycling targets call by call made the result
 * depend on whether the branch predictor happened to learn the pattern, 75 to 200
 * Mcalls/s on one machine. The chain is returned and consumed, so no call can be dropped,
 * and each call needs the last one's result, so the calls cannot overlap.
 */
export function callChain(targets: readonly Step[], iterations: number, seed: number): number {
  let x = seed | 0;
  const run = Math.floor(iterations / 8);
  for (let t = 0; t < 8; t++) {
    const f = targets[t] as Step;
    const calls = t === 0 ? iterations - 7 * run : run;
    for (let i = 0; i < calls; i++) x = f(x);
  }
  return x;
}

export type CallsSettings = Record<string, never>;

export const cpuCalls: BenchmarkDefinition<CallsSettings> = {
  id: 'cpu.calls',
  description: 'non-inlined function calls through a table of eight targets',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'throughput', unit: 'Mcalls/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    parseNumberSettings('cpu.calls', raw, {});
    return {};
  },
  async prepare(_settings, context): Promise<PreparedBenchmark> {
    // One call of each target before anything is optimized: the call site's feedback is
    // megamorphic from the start, so the JIT never inlines a target.
    let seed = callChain(CALL_TARGETS, 8, 7);
    const run = (n: number): void => {
      seed = callChain(CALL_TARGETS, n, seed);
      consume(seed);
    };
    // The targets are called, not inlined, so each is a kernel of its own.
    const kernels: Kernel[] = [{ name: 'callChain', fn: callChain }, ...CALL_TARGETS.map((fn, i): Kernel => ({ name: `CALL_TARGETS[${i}]`, fn }))];
    optimizeKernels(kernels, () => run(1021));
    const iterations = calibrate(run, context.profile.trialSeconds, { start: 1024 });
    return {
      parameters: { kernel: 'megamorphic-site-8-targets' },
      async trial() {
        const seconds = timeRun(run, iterations);
        return { throughput: iterations / seconds / 1e6 };
      },
      checkCode: () => checkKernels('cpu.calls', kernels),
    };
  },
};
