#!/usr/bin/env node
// guestbench-lab: compares hypervisor configurations through libvirt (plan, run) and puts the
// agent into existing images with libguestfs (bake).
import { isMatrixError } from '../matrix/parse-matrix';
import { isUsageError, parseArguments, USAGE, type Command } from './parse-arguments';
import { bakeCommand } from './bake-command';
import { planCommand } from './plan-command';
import { runCommand } from './run-command';

export async function main(argv: readonly string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseArguments(argv);
  } catch (err: unknown) {
    process.stderr.write(`guestbench-lab: ${err instanceof Error ? err.message : String(err)}\nSee guestbench-lab --help.\n`);
    return 2;
  }
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  try {
    switch (cmd.command) {
      case 'help':
        out(USAGE);
        return 0;
      case 'plan':
        return await planCommand(cmd, out);
      case 'run':
        return await runCommand(cmd, out);
      case 'bake':
        return await bakeCommand(cmd, out);
    }
  } catch (err: unknown) {
    if (isMatrixError(err) || isUsageError(err)) {
      process.stderr.write(`guestbench-lab: ${err.message.split('\n').join('\nguestbench-lab: ')}\n`);
      return 2;
    }
    process.stderr.write(`guestbench-lab: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
