// Pins a thread to CPUs for the benchmarks whose result depends on where the scheduler
// puts things. Node has no affinity API, so this uses taskset (util-linux, essential in
// Debian and present in every usual guest image); without it the caller runs unpinned.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Parses a kernel CPU list such as "0-3,6,8-9". */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`not a CPU list: "${list}"`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The CPUs this process's main thread may run on (its affinity, inside any cpuset). */
export function allowedCpus(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(status);
  if (line === null) throw new Error('no Cpus_allowed_list in /proc/self/status');
  return parseCpuList(line[1] as string);
}

/**
 * Sets the affinity of one thread (a TID; the main thread's is the process id) to `cpus`.
 * Returns false when taskset is not installed; throws when it fails otherwise.
 */
export function pinThread(tid: number, cpus: readonly number[]): boolean {
  const result = spawnSync('taskset', ['-p', '-c', cpus.join(','), String(tid)], { encoding: 'utf8' });
  if (result.error !== undefined) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw result.error;
  }
  if (result.status !== 0) throw new Error(`taskset -p -c ${cpus.join(',')} ${tid} failed: ${result.stderr.trim()}`);
  return true;
}
