import type { Command } from './parse-arguments';
export async function bakeCommand(_cmd: Extract<Command, { command: 'bake' }>, _out: (line: string) => void): Promise<number> {
  throw new Error('bake: not built yet');
}
