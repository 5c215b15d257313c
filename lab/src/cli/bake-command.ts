// guestbench-lab bake IMAGE [--out COPY]: the agent into an image guestbench did not build.
import { resolve } from 'node:path';
import { bakeImage, BakeError } from '../bake/bake-image';
import { UsageError, type Command } from './parse-arguments';

export async function bakeCommand(cmd: Extract<Command, { command: 'bake' }>, out: (line: string) => void): Promise<number> {
  const repo = resolve(__dirname, '..', '..', '..');
  try {
    const result = await bakeImage({
      image: cmd.image,
      out: cmd.out,
      agentConfig: cmd.agentConfig,
      repo,
      nodeBinary: process.env['GUESTBENCH_NODE_BINARY'] || undefined,
      log: (line) => void process.stderr.write(`guestbench-lab: ${line}\n`),
    });
    if (cmd.json) out(JSON.stringify(result, null, 2));
    else {
      for (const line of result.report) out(`  ${line}`);
      out(`${result.image}: ${result.changed ? 'agent baked in' : 'already baked, nothing changed'} (${result.seconds} s)`);
    }
    return 0;
  } catch (err: unknown) {
    if (err instanceof BakeError) throw new UsageError(err.message);
    throw err;
  }
}
