// Runs a hypervisor tool (vmware-rpctool, xenstore-read) found on the PATH of a given
// environment; a tool that is not installed is a normal answer, not an error.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

export type CommandResult =
  | { readonly found: false }
  | { readonly found: true; readonly exitCode: number | null; readonly stdout: string; readonly stderr: string };

/** Runs `command` (a bare name looked up on `env.PATH`) with `args`. */
export type RunCommand = (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<CommandResult>;

/** How long one tool may take before it counts as having failed. @default 5000 */
export const COMMAND_TIMEOUT_MS = 5000;

/** Absolute path of `command` on `pathVariable`, or undefined. */
export async function findOnPath(command: string, pathVariable: string | undefined): Promise<string | undefined> {
  if (isAbsolute(command)) return (await isExecutable(command)) ? command : undefined;
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const runCommand: RunCommand = async (command, args, env) => {
  const file = await findOnPath(command, env['PATH']);
  if (file === undefined) return { found: false };
  return new Promise((resolve) => {
    execFile(file, [...args], { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      let exitCode: number | null = 0;
      if (err) exitCode = typeof err.code === 'number' ? err.code : null;
      resolve({ found: true, exitCode, stdout, stderr });
    });
  });
};
