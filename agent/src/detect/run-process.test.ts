import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Deadline, describeFailure, findExecutable, runProcess } from './run-process';

const HELPERS = resolve(__dirname, '../../test/fixtures/helpers');
const helper = (name: string): string => join(HELPERS, name);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-run-process-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** True while a process with this pid exists (a zombie counts as gone: it no longer runs). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !/^\d+ \(.*\) Z /.test(stat);
}

const pidOf = (): number => Number(readFileSync(join(dir, 'pid'), 'utf8').trim());

describe('runProcess', () => {
  it('kills a helper that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const result = await runProcess(helper('ignores-term'), [], {
      deadline: new Deadline(400),
      graceMs: 200,
      env: { ...process.env, GB_PIDFILE: join(dir, 'pid') },
    });
    expect(result).toMatchObject({ kind: 'timed-out', signal: 'SIGKILL', stdout: 'started\n' });
    expect(isRunning(pidOf())).toBe(false);
  });

  it('kills the child a helper left behind holding its output', async () => {
    const result = await runProcess(helper('forks-child'), [], {
      deadline: new Deadline(400),
      graceMs: 200,
      env: { ...process.env, GB_PIDFILE: join(dir, 'pid') },
    });
    // The parent exited at once; the child kept the pipe open until the group was killed.
    expect(result).toMatchObject({ kind: 'timed-out', exitCode: 0, stdout: 'parent done\n' });
    expect(isRunning(pidOf())).toBe(false);
  });

  it('stops waiting for a child that left the group, one second after the SIGKILL', async () => {
    const result = await runProcess(helper('escapes-group'), [], {
      deadline: new Deadline(300),
      graceMs: 100,
      env: { ...process.env, GB_PIDFILE: join(dir, 'pid') },
    });
    expect(result.kind).toBe('timed-out');
    // Out of reach of the group kill: the one case the group cannot cover (documented).
    const escaped = pidOf();
    expect(isRunning(escaped)).toBe(true);
    process.kill(escaped, 'SIGKILL');
  });

  it('reports the exit status and the first line of stderr of a failing helper', async () => {
    const result = await runProcess(helper('fails'), [], { deadline: new Deadline(5000) });
    expect(result).toMatchObject({ kind: 'exited', exitCode: 3, signal: null });
    expect(describeFailure(result)).toBe('exit 3: helper: permission denied reading the channel');
  });

  it('reports the signal that ended a crashing helper', async () => {
    const result = await runProcess(helper('crashes'), [], { deadline: new Deadline(5000) });
    expect(result).toMatchObject({ kind: 'exited', exitCode: null, signal: 'SIGSEGV' });
    expect(describeFailure(result)).toBe('killed by SIGSEGV: about to crash');
  });

  it('shares one deadline between runs: once spent, the next run does not start', async () => {
    const deadline = new Deadline(300);
    const first = await runProcess(helper('ignores-term'), [], { deadline, graceMs: 100, env: { ...process.env, GB_PIDFILE: join(dir, 'pid') } });
    expect(first.kind).toBe('timed-out');
    rmSync(join(dir, 'pid'));
    const second = await runProcess(helper('ignores-term'), [], { deadline, env: { ...process.env, GB_PIDFILE: join(dir, 'pid') } });
    expect(second).toEqual({ kind: 'not-started', command: helper('ignores-term') });
    expect(describeFailure(second, 300)).toBe('not run: budget of 300 ms spent');
    expect(() => readFileSync(join(dir, 'pid'))).toThrow(/ENOENT/);
  });

  it('passes output through and bounds it', async () => {
    const result = await runProcess('/bin/sh', ['-c', 'head -c 100000 /dev/zero | tr "\\0" x'], { deadline: new Deadline(5000), maxOutputBytes: 1000 });
    expect(result).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(result.kind === 'exited' && result.stdout).toBe('x'.repeat(1000));
  });
});

describe('findExecutable', () => {
  it('searches PATH, then the fallback folders, and skips relative PATH entries', async () => {
    await expect(findExecutable('ignores-term', `relative:${HELPERS}`)).resolves.toBe(helper('ignores-term'));
    await expect(findExecutable('ignores-term', '/nonexistent')).resolves.toBeUndefined();
    await expect(findExecutable('ignores-term', '/nonexistent', [HELPERS])).resolves.toBe(helper('ignores-term'));
    await expect(findExecutable('sh', '', ['/bin'])).resolves.toBe('/bin/sh');
  });
});
