// Who is calling: checks the bearer token of a gRPC call or HTTP request against the
// store. With auth off (--insecure-no-auth) everyone is allowed and nothing is bound.
import type { Metadata } from '@grpc/grpc-js';
import type { Store } from '../store/store';
import { bearer, checkToken, parseToken, type TokenKind, type TokenRecord } from './tokens';

export type AuthResult =
  | { readonly ok: true; /** undefined when auth is off */ readonly token: TokenRecord | undefined }
  | { readonly ok: false; readonly reason: string; /** For the collector's log only. */ readonly detail?: string };

export class Authenticator {
  constructor(
    private readonly store: Store,
    readonly enabled: boolean,
  ) {}

  /** Checks an Authorization value ("Bearer gbt_…") for a token of the given kind. */
  async check(authorization: string | undefined, kind: TokenKind): Promise<AuthResult> {
    if (!this.enabled) return { ok: true, token: undefined };
    const text = bearer(authorization);
    if (text === undefined) {
      return {
        ok: false,
        reason: `no token: send "authorization: Bearer <token>" (create one with \`guestbench-collector token create${kind === 'operator' ? ' --operator' : ''}\`)`,
      };
    }
    const presented = parseToken(text);
    if (presented === undefined) return { ok: false, reason: 'malformed token: expected gbt_<12 hex>_<43 base64url characters>' };
    const result = checkToken(presented, await this.store.getToken(presented.id), Date.now());
    if (!result.ok) return result;
    if (result.token.kind !== kind) return { ok: false, reason: `token ${result.token.id} is an ${result.token.kind} token; this call needs an ${kind} token` };
    return result;
  }

  checkMetadata(metadata: Metadata, kind: TokenKind): Promise<AuthResult> {
    const value = metadata.get('authorization')[0];
    return this.check(typeof value === 'string' ? value : undefined, kind);
  }
}
