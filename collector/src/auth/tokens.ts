// Enrollment and operator tokens: "gbt_<id>_<secret>". The collector keeps only the id and
// a SHA-256 of the secret (the secret is 32 random bytes, so a fast hash is enough); the
// token itself is printed once, when it is created.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenKind, TokenRecord } from '../model';

// The record lives with the others the store keeps (model.ts), so the store needs nothing from auth/.
export type { TokenKind, TokenRecord };

const TOKEN_PATTERN = /^gbt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new token: the record to store and the text to show once. */
export function generateToken(input: { name: string; kind: TokenKind; platform: string; expiresAtMs: number | undefined; nowMs: number }): {
  record: TokenRecord;
  token: string;
} {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return {
    token: `gbt_${id}_${secret}`,
    record: {
      id,
      name: input.name,
      kind: input.kind,
      platform: input.platform,
      secretHash: hashSecret(secret),
      createdAtMs: input.nowMs,
      expiresAtMs: input.expiresAtMs,
      revokedAtMs: undefined,
      agentId: '',
    },
  };
}

export function parseToken(text: string): { id: string; secret: string } | undefined {
  const m = TOKEN_PATTERN.exec(text);
  return m === null ? undefined : { id: m[1] as string, secret: m[2] as string };
}

export type TokenCheck =
  { ok: true; token: TokenRecord } | { ok: false; reason: string; /** For the collector's log only, never the caller. */ detail?: string };

/** The one answer to an unknown token id and to a wrong secret, so a caller cannot probe for ids. */
export const TOKEN_NOT_RECOGNISED = 'token not recognised: unknown token or wrong secret';

/** Checks a presented token against its stored record. An unknown id and a wrong secret get the same reason. */
export function checkToken(presented: { id: string; secret: string }, record: TokenRecord | undefined, nowMs: number): TokenCheck {
  // Hash and compare also for an unknown id, so both cases take the same time.
  const a = Buffer.from(hashSecret(presented.secret), 'hex');
  const b = Buffer.from(record?.secretHash ?? '00'.repeat(32), 'hex');
  const secretMatches = a.length === b.length && timingSafeEqual(a, b);
  if (record === undefined) return { ok: false, reason: TOKEN_NOT_RECOGNISED, detail: `unknown token id ${presented.id}` };
  if (!secretMatches) return { ok: false, reason: TOKEN_NOT_RECOGNISED, detail: `wrong secret for token ${record.id} (${record.name})` };
  if (record.revokedAtMs !== undefined) return { ok: false, reason: `token ${record.id} (${record.name}) was revoked` };
  if (record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs) return { ok: false, reason: `token ${record.id} (${record.name}) expired` };
  return { ok: true, token: record };
}

/** A token's state at `nowMs`, as `token list` shows it. */
export function tokenState(t: TokenRecord, nowMs: number): 'active' | 'revoked' | 'expired' {
  if (t.revokedAtMs !== undefined) return 'revoked';
  if (t.expiresAtMs !== undefined && t.expiresAtMs <= nowMs) return 'expired';
  return 'active';
}

/** "90d", "12h", "30m" or an ISO date → unix ms; undefined input → no expiry. */
export function parseExpiry(text: string | undefined, nowMs: number): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,5})([mhd])$/.exec(text);
  if (m !== null) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
    return nowMs + Number(m[1]) * unit;
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`--expires: a duration like 90d, 12h, 30m or an ISO date, got "${text}"`);
  if (t <= nowMs) throw new Error(`--expires: ${text} is in the past`);
  return t;
}

/** The bearer token of gRPC metadata or an HTTP Authorization header value. */
export function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m === null ? undefined : m[1];
}
