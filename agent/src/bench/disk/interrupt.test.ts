// A disk benchmark in a real child process, interrupted with SIGINT in the middle of its
// work: the test file must be gone when the process has exited.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { defaultDiskDir } from './test-file';

// The child: one disk benchmark under the runner, with trials far longer than the test, and
// SIGINT wired as the agent's CLI wires it (abort the run) or, in "exit" mode, as a program
// that just calls process.exit (then only the exit hook can clean up).
const CHILD_SOURCE = `
import fs from 'node:fs';
import { runBenchmark } from '../runner';
import { diskSeqWrite } from './seq-write';
const [dir, mode] = process.argv.slice(2);
const controller = new AbortController();
process.once('SIGINT', () => (mode === 'exit' ? process.exit(130) : controller.abort(new Error('interrupted'))));
const def = {
  ...diskSeqWrite,
  async prepare(settings: any, context: any) {
    const prepared = await diskSeqWrite.prepare(settings, context);
    process.stdout.write('prepared\\n');
    return prepared;
  },
};
const profile = { name: 't', description: '', warmupSeconds: 60, trialSeconds: 60, minTrials: 3, maxTrials: 3, rsdThreshold: 0.5, budgetSeconds: 60, benchmarks: [], settings: { 'disk.seq_write': { fileMiB: 64 } } };
runBenchmark(def, { profile, signal: controller.signal, targets: { diskDir: dir } }).then(
  () => process.stdout.write('finished\\n'),
  // Before exit, so this shows dispose did the work, not the exit hook.
  (err) => { process.stdout.write('stopped: ' + err.message + ', files left: ' + fs.readdirSync(dir).length + '\\n'); process.exitCode = 130; },
);
`;

let childScript: string;
let dir: string;

beforeAll(() => {
  const out = buildSync({
    stdin: { contents: CHILD_SOURCE, resolveDir: __dirname, loader: 'ts' },
    bundle: true,
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  dir = fs.mkdtempSync(path.join(path.dirname(defaultDiskDir()), 'guestbench-interrupt-test-'));
  childScript = path.join(dir, '..', `${path.basename(dir)}-child.js`);
  fs.writeFileSync(childScript, out.outputFiles[0]!.text);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(childScript, { force: true });
});

/** Starts the child and sends SIGINT once `when` says so; resolves with its output after it exited. */
function interruptChild(mode: 'abort' | 'exit', when: (stdout: string) => boolean): Promise<{ stdout: string; code: number | null; sawFile: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let sent = false;
    let sawFile = false;
    const check = (): void => {
      if (sent) return;
      const files = fs.readdirSync(dir);
      if (files.length > 0 && when(stdout)) {
        sawFile = true;
        sent = true;
        child.kill('SIGINT');
      }
    };
    const watcher = fs.watch(dir, check);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      check();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      watcher.close();
      resolve({ stdout, code, sawFile });
    });
  });
}

test('SIGINT while the test file is being filled: the file is removed', async () => {
  const r = await interruptChild('abort', () => true);
  expect(r.sawFile).toBe(true);
  expect(r.stdout).toContain('files left: 0');
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('SIGINT during a trial: the run stops and the file is removed', async () => {
  const r = await interruptChild('abort', (out) => out.includes('prepared'));
  expect(r.stdout).toContain('stopped: interrupted, files left: 0');
  expect(r.code).toBe(130);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('a process that exits on SIGINT without stopping the run: the exit hook removes the file', async () => {
  const r = await interruptChild('exit', (out) => out.includes('prepared'));
  expect(r.code).toBe(130);
  expect(r.stdout).not.toContain('stopped');
  expect(fs.readdirSync(dir)).toEqual([]);
});
