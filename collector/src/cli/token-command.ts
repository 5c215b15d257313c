// `guestbench-collector token create|list|revoke|rebind`: works on the database directly (the
// running collector sees the change at the next call), so it needs no token itself.
import { generateToken, parseExpiry, tokenState, type TokenRecord } from '../auth/tokens';
import { openStore } from '../store/open-store';
import { textTable } from '../report/text-table';
import type { Command } from './parse-arguments';

type TokenCommand = Extract<Command, { kind: 'token-create' | 'token-list' | 'token-revoke' | 'token-rebind' }>;

function when(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A token as shown to people and in JSON: never the hash. */
function publicView(t: TokenRecord, nowMs: number): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    kind: t.kind,
    state: tokenState(t, nowMs),
    platform: t.platform || undefined,
    agentId: t.agentId || undefined,
    createdAt: when(t.createdAtMs),
    expiresAt: t.expiresAtMs === undefined ? undefined : when(t.expiresAtMs),
    revokedAt: t.revokedAtMs === undefined ? undefined : when(t.revokedAtMs),
  };
}

export async function tokenCommand(cmd: TokenCommand): Promise<number> {
  const store = await openStore(cmd.db);
  try {
    if (cmd.kind === 'token-create') {
      const now = Date.now();
      const { record, token } = generateToken({
        name: cmd.name,
        kind: cmd.operator ? 'operator' : 'agent',
        platform: cmd.platform,
        expiresAtMs: parseExpiry(cmd.expires, now),
        nowMs: now,
      });
      await store.createToken(record);
      if (cmd.json) process.stdout.write(`${JSON.stringify({ ...publicView(record, now), token }, null, 2)}\n`);
      else {
        process.stdout.write(`${token}\n`);
        process.stderr.write(
          `${record.kind} token ${record.id} "${record.name}" created${record.platform ? ` for platform ${record.platform}` : ''}; ` +
            `expires ${record.expiresAtMs === undefined ? 'never' : when(record.expiresAtMs)}. It is shown only now: the collector keeps its hash.\n`,
        );
      }
      return 0;
    }
    if (cmd.kind === 'token-revoke') {
      const revoked = await store.revokeTokens(cmd.idOrName, Date.now());
      if (revoked.length === 0) throw new Error(`no active token with id or name "${cmd.idOrName}" (see \`guestbench-collector token list\`)`);
      for (const t of revoked) process.stdout.write(`revoked ${t.kind} token ${t.id} "${t.name}"\n`);
      return 0;
    }
    if (cmd.kind === 'token-rebind') {
      const result = await store.rebindToken(cmd.idOrName, cmd.agentId);
      if (!result.ok) throw new Error(result.error);
      for (const t of result.unbound) process.stdout.write(`unbound agent token ${t.id} "${t.name}" from agent ${cmd.agentId}\n`);
      const t = result.token;
      process.stdout.write(
        cmd.agentId === ''
          ? `agent token ${t.id} "${t.name}" is unbound: its next enrollment binds it\n`
          : `bound agent token ${t.id} "${t.name}" to agent ${cmd.agentId}\n`,
      );
      return 0;
    }
    const tokens = await store.listTokens();
    const now = Date.now();
    if (cmd.json)
      process.stdout.write(
        `${JSON.stringify(
          tokens.map((t) => publicView(t, now)),
          null,
          2,
        )}\n`,
      );
    else {
      const stateText = (t: TokenRecord): string => {
        const state = tokenState(t, now);
        return state === 'revoked' ? `revoked ${when(t.revokedAtMs)}` : state === 'expired' ? `expired ${when(t.expiresAtMs)}` : 'active';
      };
      const rows = tokens.map((t) => [t.id, t.name, t.kind, t.platform || '-', t.agentId || '-', when(t.createdAtMs), when(t.expiresAtMs), stateText(t)]);
      process.stdout.write(`${textTable(['id', 'name', 'kind', 'platform', 'agent', 'created', 'expires', 'state'], rows)}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
