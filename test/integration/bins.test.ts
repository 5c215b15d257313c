// The commands npm links from the workspaces: they must exist before the first build (npm
// links a bin only if its file is there at install time), load the build, and say what to do
// when there is none.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const PACKAGES = [
  { dir: 'agent', command: 'guestbench-agent' },
  { dir: 'collector', command: 'guestbench-collector' },
] as const;

const committed = new Set(execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n'));

test.each(PACKAGES)('$command is a committed, executable file outside dist/', ({ dir, command }) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin[command];
  expect(bin).toBeDefined();
  expect(bin).not.toMatch(/^dist\//);
  expect(committed.has(`${dir}/${bin}`)).toBe(true);
  expect(fs.statSync(path.join(ROOT, dir, bin as string)).mode & 0o111).not.toBe(0);
  expect(fs.readFileSync(path.join(ROOT, dir, bin as string), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
});

test.each(PACKAGES)('$command loads the build: --version and --help work through it', ({ dir, command }) => {
  const bin = path.join(ROOT, dir, 'bin', `${command}.js`);
  const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  expect(version.status).toBe(0);
  expect(version.stdout).toMatch(new RegExp(`^${command} \\d+\\.\\d+\\.\\d+ `));
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toContain(`${command} —`);
});

test.each(PACKAGES)('$command without a build says so and how to build, in one line', ({ dir, command }) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-bin-'));
  try {
    // The same file in a package folder that has no dist/, as after `npm ci` in a fresh clone.
    fs.mkdirSync(path.join(tmp, dir, 'bin'), { recursive: true });
    const bin = path.join(tmp, dir, 'bin', `${command}.js`);
    fs.copyFileSync(path.join(ROOT, dir, 'bin', `${command}.js`), bin);
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', cwd: tmp });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${command}: not built yet (${dir}/dist/cli/main.js is missing); run \`npm run build\` in ${tmp} first\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the agent bundle is minified and verified by default, and about half the size of the readable one', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-bundle-test-'));
  try {
    const script = path.join(ROOT, 'scripts', 'bundle-agent.js');
    const out = (args: string[]): { bytes: number; minified: boolean; verified?: string } =>
      JSON.parse(execFileSync(process.execPath, [script, '--json', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })) as {
        bytes: number;
        minified: boolean;
        verified?: string;
      };
    const plain = out(['--outfile', path.join(tmp, 'plain.js'), '--no-minify', '--no-verify']);
    const standard = out(['--outfile', path.join(tmp, 'agent.js')]);
    expect(plain).toMatchObject({ minified: false });
    expect(plain.verified).toBeUndefined();
    expect(standard).toMatchObject({ minified: true, verified: expect.stringMatching(/^guestbench-agent \d+\.\d+\.\d+ /) });
    expect(standard.bytes).toBeLessThan(plain.bytes * 0.6);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 300_000);
