// Runs a small inspection command (dmesg, systemd-detect-virt) and hands back its output,
// or undefined when it is missing, forbidden or slow: detection must never fail on a command.
import { execFile } from 'node:child_process';

/** Runs `cmd args` and resolves to its standard output, or undefined when there is none. */
export type RunCommand = (cmd: string, args: string[]) => Promise<string | undefined>;

const TIMEOUT_MS = 2_000;
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/**
 * The live-system command runner: a fixed timeout, a bounded output and the C locale.
 * A non-zero exit still yields what was printed, because `systemd-detect-virt` prints
 * "none" and exits 1 on bare metal; a command that is missing or timed out yields undefined.
 */
export const runCommand: RunCommand = (cmd, args) =>
  new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        timeout: TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
        windowsHide: true,
      },
      (error, stdout) => {
        // A numeric code is an exit status; anything else (ENOENT, EACCES, a kill) means the
        // command did not run to completion, so its partial output is not trusted.
        if (error !== null && (typeof error.code !== 'number' || error.killed === true)) {
          resolve(undefined);
          return;
        }
        resolve(stdout.length > 0 ? stdout : undefined);
      },
    );
  });
