// The demo's view of a long build: one progress line (phase, elapsed) instead of debootstrap's
// thousands, with everything the build printed kept in a log file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

export interface ProgressRun {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Receives all of the command's stdout and stderr. */
  readonly logFile: string;
  /** Where the progress line goes (the demo: stderr). */
  readonly progress: NodeJS.WritableStream;
  /** On a terminal the line is rewritten in place every second; otherwise one line per phase. */
  readonly tty: boolean;
}

/**
 * The phase a build-image line announces, or undefined for any other line. build-image's own
 * lines look like "build-image: [ 12.3s] base root file system …: building (details)"; the
 * details in parentheses are left out of the progress line.
 */
export function phaseOf(line: string): string | undefined {
  const m = /^build-image: (?:\[\s*[\d.]+s\] )?(.*)$/.exec(line);
  if (m === null) return undefined;
  return (m[1] as string).replace(/ \(.*$/, '').slice(0, 100);
}

/** Runs the command; resolves with its exit code (1 when it could not start or was killed). */
export function runWithProgress(run: ProgressRun): Promise<number> {
  const started = Date.now();
  let phase = 'starting';
  const show = (): void => {
    const line = `  image: ${phase} (${Math.round((Date.now() - started) / 1000)} s)`;
    run.progress.write(run.tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  return new Promise((resolve) => {
    const out = fs.createWriteStream(run.logFile);
    const child = spawn(run.file, [...run.args], { cwd: run.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    readline.createInterface({ input: child.stderr }).on('line', (line) => {
      const next = phaseOf(line);
      if (next === undefined) return;
      phase = next;
      show();
    });
    const timer = run.tty ? setInterval(show, 1000) : undefined;
    child.on('error', (err) => {
      phase = `could not start: ${err.message}`;
      show();
    });
    child.on('close', (code) => {
      if (timer !== undefined) clearInterval(timer);
      if (run.tty) run.progress.write('\n');
      out.end(() => resolve(code ?? 1));
    });
  });
}
