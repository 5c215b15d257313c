// The vocabulary agent and collector both speak, each rule written once: platforms, labels
// and groups, HOST:PORT, profile names, benchmark and sample ids.
export { quoted } from './parsed';
export type { Parsed } from './parsed';
export { isPlatform, parsePlatform, PLATFORMS } from './platform';
export type { Platform } from './platform';
export { groupKey, parseGroupKey, parseLabel, splitGroupKey } from './label';
export { formatHostPort, isUnspecifiedHost, parseHostPort } from './host-port';
export type { HostPort, HostPortOptions } from './host-port';
export { isProfileName, parseProfileName, PROFILE_NAMES } from './profile-names';
export type { ProfileName } from './profile-names';
export { categoryOf, parseSampleId, sampleId } from './benchmark-id';
export { parseId } from './id';
