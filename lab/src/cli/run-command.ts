import type { Command } from './parse-arguments';
export async function runCommand(_cmd: Extract<Command, { command: 'run' }>, _out: (line: string) => void): Promise<number> {
  throw new Error('run: not built yet');
}
