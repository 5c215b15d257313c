// Tokens made directly, for states the CLI does not create (an already expired token).
import { generateToken } from '@guestbench/collector';

export function generateTokenForTest(name: string, expiresAtMs: number): ReturnType<typeof generateToken> {
  return generateToken({ name, kind: 'agent', platform: '', expiresAtMs, nowMs: Date.now() - 10_000 });
}
