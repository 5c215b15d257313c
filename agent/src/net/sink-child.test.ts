// The serve-net child that a local `bench` uses as its sink: the real agent CLI, bundled
// from source, forked, checked, and gone afterwards, also when its parent is killed outright.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { checkSink } from './sink-client';
import { startSinkChild } from './sink-child';

let dir: string;
let cli: string;
let parentScript: string;

function bundle(options: { entry: string } | { source: string }, outfile: string): void {
  const input = 'entry' in options ? { entryPoints: [options.entry] } : { stdin: { contents: options.source, resolveDir: __dirname, loader: 'ts' as const } };
  buildSync({ ...input, bundle: true, platform: 'node', outfile, logLevel: 'silent' });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-sink-child-'));
  cli = path.join(dir, 'guestbench-agent.js');
  bundle({ entry: path.join(__dirname, '..', 'cli', 'main.ts') }, cli);
  // A parent that starts the child and reports its pid, to be killed with SIGKILL.
  parentScript = path.join(dir, 'parent.js');
  bundle(
    { source: `import { startSinkChild } from './sink-child';\nstartSinkChild(process.argv[2]!).then((c) => process.stdout.write(c.pid + '\\n'));` },
    parentScript,
  );
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits for a process that is not our child to go away; there is no event to await for that. */
async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

test('starts serve-net on loopback, answers as a sink, and exits when closed', async () => {
  const child = await startSinkChild(cli);
  expect(child.address.host).toBe('127.0.0.1');
  await expect(checkSink(child.address)).resolves.toBeUndefined();
  await child.close();
  expect(alive(child.pid)).toBe(false);
});

test('exits by itself when the agent that started it is killed', async () => {
  const parent = spawn(process.execPath, [parentScript, cli], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString('utf8').trim())));
    parent.once('exit', (code) => reject(new Error(`parent exited with ${code}`)));
  });
  expect(alive(pid)).toBe(true);
  parent.kill('SIGKILL');
  expect(await gone(pid, 5000)).toBe(true);
});
