// Runs a small inspection command (dmesg, journalctl, systemd-detect-virt) for detection and
// says what came of it: its output, or one line on why there is none, for the evidence.
import { Deadline, describeFailure, findExecutable, runProcess, SYSTEM_BIN_DIRS } from './run-process';

/** What one inspection command gave. `command` is the command line as run, for the evidence. */
export type CommandOutcome =
  { readonly ok: true; readonly command: string; readonly stdout: string } | { readonly ok: false; readonly command: string; readonly reason: string };

/** Runs `cmd args` for detection. Must not reject; a failure is an outcome with a reason. */
export type RunCommand = (cmd: string, args: readonly string[], deadline: Deadline) => Promise<CommandOutcome>;

/**
 * The live-system runner: the tool is looked up on PATH and then in the usual system folders,
 * so a minimal PATH finds the same tools; the C locale; the caller's deadline. A non-zero exit
 * that printed something still counts, because `systemd-detect-virt` prints "none" and exits 1
 * on bare metal; a command that printed nothing, was killed or timed out gives its reason.
 */
export const runCommand: RunCommand = async (cmd, args, deadline) => {
  const display = [cmd, ...args].join(' ');
  const file = await findExecutable(cmd, process.env['PATH'], SYSTEM_BIN_DIRS);
  if (file === undefined) return { ok: false, command: display, reason: `not installed (searched PATH and ${SYSTEM_BIN_DIRS.join(':')})` };
  const command = [file, ...args].join(' ');
  const result = await runProcess(file, args, { deadline, env: { ...process.env, LC_ALL: 'C' } });
  if (result.kind === 'exited' && result.signal === null && result.stdout.trim() !== '') {
    return { ok: true, command, stdout: result.stdout };
  }
  if (result.kind === 'exited' && result.signal === null && result.exitCode === 0) {
    return { ok: false, command, reason: 'printed nothing' };
  }
  return { ok: false, command, reason: describeFailure(result, deadline.budgetMs) };
};
