// Runs a hypervisor tool (vmware-rpctool, xenstore-read) found on the PATH of a given
// environment; a tool that is not installed is a normal answer, not an error.
import { Deadline, findExecutable, runProcess } from '../detect/run-process';

export type CommandResult =
  | { readonly found: false }
  | {
      readonly found: true;
      /** The exit status; null when a signal ended the tool or it was stopped at the deadline. */
      readonly exitCode: number | null;
      /** The signal that ended it, e.g. SIGSEGV for a crash; null when it exited. */
      readonly signal: NodeJS.Signals | null;
      /** True when it was stopped because its time (or the resolution's budget) ran out. */
      readonly timedOut: boolean;
      /** Set when the tool could not be started at all (e.g. EACCES). */
      readonly startError?: string;
      readonly stdout: string;
      readonly stderr: string;
    };

/**
 * Runs `command` (a bare name looked up on `env.PATH`) with `args`, stopping it by `deadline`
 * (one shared by every call of a resolution) or after {@link COMMAND_TIMEOUT_MS}, whichever
 * comes first.
 */
export type RunCommand = (command: string, args: readonly string[], env: NodeJS.ProcessEnv, deadline?: Deadline) => Promise<CommandResult>;

/** How long one tool may take before it counts as having failed. @default 5000 */
export const COMMAND_TIMEOUT_MS = 5000;

/** Absolute path of `command` on `pathVariable`, or undefined. */
export function findOnPath(command: string, pathVariable: string | undefined): Promise<string | undefined> {
  return findExecutable(command, pathVariable);
}

export const runCommand: RunCommand = async (command, args, env, deadline) => {
  const file = await findOnPath(command, env['PATH']);
  if (file === undefined) return { found: false };
  const limit = new Deadline(Math.min(COMMAND_TIMEOUT_MS, deadline?.remainingMs() ?? COMMAND_TIMEOUT_MS));
  const result = await runProcess(file, args, { env, deadline: limit, maxOutputBytes: 1 << 20 });
  switch (result.kind) {
    case 'not-found':
      return { found: false };
    case 'failed-to-start':
      return { found: true, exitCode: null, signal: null, timedOut: false, startError: result.message, stdout: '', stderr: '' };
    case 'not-started':
      return { found: true, exitCode: null, signal: null, timedOut: true, stdout: '', stderr: '' };
    case 'exited':
    case 'timed-out':
      return {
        found: true,
        exitCode: result.kind === 'timed-out' ? null : result.exitCode,
        signal: result.signal,
        timedOut: result.kind === 'timed-out',
        stdout: result.stdout,
        stderr: result.stderr,
      };
  }
};
