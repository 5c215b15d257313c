// `guestbench-collector compare --aa A B`: the A/A check, from a database or a running
// collector. Prints the verdict plainly; the exit code tells a script which it was.
import fs from 'node:fs';
import { compareAa, type AaVerdict } from '../compare/aa-verdict';
import type { CompareResult } from '../compare/compare';
import { formatComparison } from '../report/format-comparison';
import { describeDatabase, isPostgresUrl } from '../store/database-spec';
import { openStore } from '../store/open-store';
import type { Command } from './parse-arguments';

type AaCommand = Extract<Command, { kind: 'compare-aa' }>;
type AaAnswer = { verdict: AaVerdict; comparison: CompareResult };

/** Exit codes: 0 agrees, 3 too noisy to tell, 4 disagrees (1 and 2 are errors and usage). */
export const AA_EXIT = { agrees: 0, 'too-noisy': 3, disagrees: 4 } as const;

async function fetchAa(base: string, cmd: AaCommand): Promise<AaAnswer> {
  const params = new URLSearchParams({ aa: `${cmd.a},${cmd.b}` });
  const f = cmd.query.filter;
  if (f.hostname !== undefined) params.set('host', f.hostname);
  if (f.since !== undefined) params.set('since', String(f.since));
  if (f.until !== undefined) params.set('until', String(f.until));
  let res: Response;
  try {
    res = await fetch(new URL(`/api/v1/compare?${params.toString()}`, base));
  } catch (err: unknown) {
    throw new Error(`cannot reach the collector at ${base}: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => ({ error: 'not JSON' }))) as AaAnswer | { error: string };
  if (!res.ok || 'error' in body) throw new Error(`collector at ${base} answered ${res.status}: ${'error' in body ? body.error : ''}`);
  return body;
}

async function readAa(spec: string, cmd: AaCommand): Promise<AaAnswer> {
  if (!isPostgresUrl(spec) && !fs.existsSync(spec))
    throw new Error(`no database at ${spec} (pass --db FILE or --db postgres://…, or --url of a running collector)`);
  const store = await openStore(spec);
  try {
    return await compareAa(store, cmd.a, cmd.b, cmd.query.filter);
  } catch (err: unknown) {
    throw new Error(`A/A check on ${describeDatabase(spec)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await store.close();
  }
}

export async function compareAaCommand(cmd: AaCommand): Promise<number> {
  const answer = 'url' in cmd.source ? await fetchAa(cmd.source.url, cmd) : await readAa(cmd.source.db, cmd);
  if (cmd.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  else process.stdout.write(`${formatComparison(answer.comparison)}\n\nA/A check: ${answer.verdict.summary}\n`);
  return AA_EXIT[answer.verdict.verdict];
}
