// The built-in profiles' names, in order of growing length: the protocol's list. A leaf module:
// benchmark definitions import it to declare the profiles they belong to.
import { PROFILE_NAMES, type ProfileName } from '@guestbench/proto';

export const BUILTIN_PROFILES = PROFILE_NAMES;
export type { ProfileName };

/** What most benchmarks declare: they run in every built-in profile. */
export const EVERY_PROFILE: readonly ProfileName[] = PROFILE_NAMES;
