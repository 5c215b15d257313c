// Every benchmark the agent knows, in suite order. Adding one is one import and one line.
import { cpuArrays } from './cpu/arrays';
import { cpuCalls } from './cpu/calls';
import { cpuFloat32 } from './cpu/float32';
import { cpuFloat64 } from './cpu/float64';
import { cpuInt32 } from './cpu/int32';
import { cpuInt64 } from './cpu/int64';
import { cpuMath } from './cpu/math';
import { cpuMemory } from './cpu/memory';
import { diskFsync } from './disk/fsync';
import { diskRandRead4k } from './disk/rand-read-4k';
import { diskRandWrite4k } from './disk/rand-write-4k';
import { diskSeqRead } from './disk/seq-read';
import { diskSeqWrite } from './disk/seq-write';
import { memBandwidth } from './mem/bandwidth';
import { memLatency } from './mem/latency';
import { memPagefault } from './mem/pagefault';
import { netTcpCrr } from './net/tcp-crr';
import { netTcpRr } from './net/tcp-rr';
import { netTcpStream } from './net/tcp-stream';
import { sysClock } from './sys/clock';
import { sysCtxswitch } from './sys/ctxswitch';
import { sysSpawn } from './sys/spawn';
import { sysSyscall } from './sys/syscall';
import type { Profile } from '../profiles/profile';
import type { AnyBenchmark } from './types';
import { webCgiLarge, webCgiSmall, webStaticLarge, webStaticSmall } from './web/web-benchmark';

const BENCHMARKS: readonly AnyBenchmark[] = [
  cpuInt32,
  cpuInt64,
  cpuFloat32,
  cpuFloat64,
  cpuMath,
  cpuMemory,
  cpuArrays,
  cpuCalls,
  memBandwidth,
  memLatency,
  memPagefault,
  sysSyscall,
  sysSpawn,
  sysCtxswitch,
  sysClock,
  diskSeqWrite,
  diskSeqRead,
  diskRandRead4k,
  diskRandWrite4k,
  diskFsync,
  netTcpStream,
  netTcpRr,
  netTcpCrr,
  webStaticSmall,
  webStaticLarge,
  webCgiSmall,
  webCgiLarge,
];

const byId = new Map(BENCHMARKS.map((b) => [b.id, b]));

export const BENCHMARK_IDS: readonly string[] = BENCHMARKS.map((b) => b.id);

export function listBenchmarks(): readonly AnyBenchmark[] {
  return BENCHMARKS;
}

export function getBenchmark(id: string): AnyBenchmark {
  const def = byId.get(id);
  if (def === undefined) throw new Error(`unknown benchmark "${id}" (known: ${BENCHMARK_IDS.join(', ')})`);
  return def;
}

/**
 * Parses every running benchmark's settings of `profile` with the benchmark's own parser, so
 * a bad value (from profiles.json, a profile file or --set) fails before anything runs.
 */
export function checkProfileSettings(profile: Profile): void {
  for (const id of profile.benchmarks) getBenchmark(id).parseSettings(profile.settings[id] ?? {});
}
