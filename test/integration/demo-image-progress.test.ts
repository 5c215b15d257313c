// The demo's image build shows one progress line per phase (phase, elapsed seconds), never
// debootstrap's own lines, and keeps every line the build printed in its log file. The build
// here is a real bash process that prints through build-image.sh's own `log` function (taken
// from the script, so a change of its format breaks this test), mixed with debootstrap-like
// output on both streams.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { phaseOf, runWithProgress } from '../../scripts/src/image-progress';

const buildImage = path.resolve(__dirname, '../../deploy/image/build-image.sh');

/** build-image.sh's `elapsed` and `log` functions, as the script defines them. */
function logFunctions(): string {
  const lines = fs
    .readFileSync(buildImage, 'utf8')
    .split('\n')
    .filter((l) => /^(elapsed|log)\(\) \{/.test(l));
  expect(lines).toHaveLength(2);
  return lines.join('\n');
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}

describe('the demo image build progress', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-image-progress-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the phase from the lines build-image.sh really prints', () => {
    const stderr = execFileSync(
      'bash',
      ['-c', `${logFunctions()}\nt_start=$(date +%s.%N)\nlog 'base root file system: building (debootstrap bookworm)' 2>&1`],
      { encoding: 'utf8' },
    );
    expect(stderr).toMatch(/^build-image: \[\s*\d+\.\d+s\] base root file system: building \(debootstrap bookworm\)\n$/);
    expect(phaseOf(stderr.trim())).toBe('base root file system: building');
    expect(phaseOf('I: Retrieving InRelease')).toBeUndefined();
  });

  it('shows one line per phase and logs everything (not on a terminal)', async () => {
    const script = path.join(dir, 'build.sh');
    fs.writeFileSync(
      script,
      [
        '#!/bin/bash',
        logFunctions(),
        't_start=$(date +%s.%N)',
        "log 'base root file system: building (debootstrap)'",
        'for i in 1 2 3; do echo "I: Retrieving package $i"; echo "I: Validating package $i" >&2; done',
        "log 'disk image: building'",
        'echo "mke2fs 1.47.0 (5-Feb-2023)"',
        "log 'done in 1.0 s'",
      ].join('\n'),
      { mode: 0o755 },
    );
    const progress = new PassThrough();
    const shown = collect(progress);
    const logFile = path.join(dir, 'build.log');
    const code = await runWithProgress({ file: script, args: [], cwd: dir, logFile, progress, tty: false });
    expect(code).toBe(0);
    const lines = shown().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ {2}image: base root file system: building \(\d+ s\)$/);
    expect(lines[1]).toMatch(/^ {2}image: disk image: building \(\d+ s\)$/);
    expect(lines[2]).toMatch(/^ {2}image: done in 1\.0 s \(\d+ s\)$/);
    const log = fs.readFileSync(logFile, 'utf8');
    for (const expected of ['I: Retrieving package 3', 'I: Validating package 2', 'mke2fs 1.47.0', 'build-image: [']) expect(log).toContain(expected);
  });

  it('rewrites one line on a terminal and ends it with a newline', async () => {
    const script = path.join(dir, 'build.sh');
    fs.writeFileSync(script, ['#!/bin/bash', logFunctions(), 't_start=$(date +%s.%N)', "log 'disk image: building'", "log 'done'"].join('\n'), { mode: 0o755 });
    const progress = new PassThrough();
    const shown = collect(progress);
    expect(await runWithProgress({ file: script, args: [], cwd: dir, logFile: path.join(dir, 'build.log'), progress, tty: true })).toBe(0);
    const text = shown();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain('\r\x1b[K  image: disk image: building (');
    expect(text).toContain('\r\x1b[K  image: done (');
  });

  it('says so when the build cannot start, and reports failure', async () => {
    const progress = new PassThrough();
    const shown = collect(progress);
    const code = await runWithProgress({ file: path.join(dir, 'missing.sh'), args: [], cwd: dir, logFile: path.join(dir, 'build.log'), progress, tty: false });
    expect(code).not.toBe(0);
    expect(shown()).toMatch(/image: could not start: .*ENOENT/);
  });

  it('passes the build’s exit code on', async () => {
    const script = path.join(dir, 'fail.sh');
    fs.writeFileSync(script, '#!/bin/bash\necho "build-image: debootstrap failed" >&2\nexit 7\n', { mode: 0o755 });
    const progress = new PassThrough();
    const shown = collect(progress);
    expect(await runWithProgress({ file: script, args: [], cwd: dir, logFile: path.join(dir, 'build.log'), progress, tty: false })).toBe(7);
    expect(shown()).toBe('  image: debootstrap failed (0 s)\n');
  });
});
