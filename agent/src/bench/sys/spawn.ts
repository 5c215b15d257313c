// sys.spawn: starts a real process per iteration (fork + exec of /bin/true) and waits for
// it to exit. Process creation copies page tables and faults in fresh pages, which is
// where nested paging and shadow page tables cost most; the 2009 study's CGI tests are
// dominated by it. The agent's main thread, which forks, is pinned to one CPU for the
// benchmark, and children inherit it: where the scheduler put parent and child otherwise
// made trials vary by a quarter.
import { spawn } from 'node:child_process';
import { calibrateAsync, now } from '../calibrate';
import { parseNumberSettings } from '../settings';
import type { BenchmarkDefinition, PreparedBenchmark } from '../types';
import { allowedCpus, pinThread } from './cpu-affinity';
import { EVERY_PROFILE } from '../../profiles/profile-names';

export interface SpawnSettings {
  /** At least this many spawns per trial, however slow the machine. @default 3 */
  readonly minSpawns: number;
}

/** The program spawned: present in every Linux guest, does nothing, exits 0. */
export const SPAWN_COMMAND = '/bin/true';

/** Spawns `command` once and resolves when it has exited with status 0. */
export function spawnOnce(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`sys.spawn: ${command} exited with ${signal ?? String(code)}`));
    });
  });
}

/**
 * Spawns `count` processes one after another and returns the seconds taken. Nothing to
 * optimize away here: each spawn is a real fork/exec whose exit status is checked.
 */
export async function spawnSeries(command: string, count: number): Promise<number> {
  const t0 = now();
  for (let i = 0; i < count; i++) await spawnOnce(command);
  return now() - t0;
}

export const sysSpawn: BenchmarkDefinition<SpawnSettings> = {
  id: 'sys.spawn',
  description: 'spawn of a real process (fork + exec of /bin/true) and wait for its exit',
  profiles: EVERY_PROFILE,
  metrics: [{ name: 'rate', unit: 'spawns/s', direction: 'higher', primary: true }],
  parseSettings(raw) {
    return parseNumberSettings('sys.spawn', raw, {
      minSpawns: { default: 3, min: 1, max: 100000, integer: true },
    });
  },
  async prepare(settings, context): Promise<PreparedBenchmark> {
    const allowed = allowedCpus();
    const pinned = pinThread(process.pid, [allowed[0] as number]);
    const unpin = (): void => {
      if (pinned) pinThread(process.pid, allowed);
    };
    try {
      const count = await calibrateAsync((n) => spawnSeries(SPAWN_COMMAND, n), context.profile.trialSeconds, { min: settings.minSpawns });
      return {
        parameters: { command: SPAWN_COMMAND, cpus: pinned ? 'one' : 'unpinned' },
        async trial() {
          const seconds = await spawnSeries(SPAWN_COMMAND, count);
          return { rate: count / seconds };
        },
        async dispose() {
          unpin();
        },
      };
    } catch (err: unknown) {
      unpin();
      throw err;
    }
  },
};
