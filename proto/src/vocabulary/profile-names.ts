// The names of the profiles the agent ships, which jobs and the agent's settings may name.
// The agent's profiles.json defines each one; a test there checks it defines exactly these.
import { quoted, type Parsed } from './parsed';

export type ProfileName = 'smoke' | 'quick' | 'standard' | 'full';

/** In order of growing length. */
export const PROFILE_NAMES: readonly ProfileName[] = ['smoke', 'quick', 'standard', 'full'];

export function isProfileName(s: string): s is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(s);
}

export function parseProfileName(text: string): Parsed<ProfileName> {
  if (isProfileName(text)) return { ok: true, value: text };
  return { ok: false, error: `expected one of ${PROFILE_NAMES.join(', ')}, got ${quoted(text, 40)}` };
}
