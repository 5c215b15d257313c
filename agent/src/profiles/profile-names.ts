// The built-in profiles' names, in order of growing length. A leaf module: benchmark
// definitions import it to declare the profiles they belong to.

export const BUILTIN_PROFILES = ['smoke', 'quick', 'standard', 'full'] as const;

export type ProfileName = (typeof BUILTIN_PROFILES)[number];

/** What most benchmarks declare: they run in every built-in profile. */
export const EVERY_PROFILE: readonly ProfileName[] = BUILTIN_PROFILES;
