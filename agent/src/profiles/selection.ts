// --only, --skip and --set: narrow a profile to some benchmarks and override single settings.
// The result is an ordinary Profile whose name records what was changed, so the run carries
// it to the collector; overridden settings also go into the samples' parameters, which the
// comparison pairs on, so an override never mixes with runs that did not have it.
import {
  formatProfileSpec,
  MAX_PROFILE_SPEC_LENGTH,
  parseBenchmarkList as parseList,
  parseProfileSpec,
  parseSettingOverride,
  type ParsedSpec,
} from '@guestbench/proto';
import { ProfileError, type Profile } from './profile';

/** One `--set BENCHMARK.KEY=VALUE`. */
export interface SettingOverride {
  readonly benchmark: string;
  readonly key: string;
  readonly value: number | boolean | string;
}

/** What the flags asked for; empty lists change nothing. */
export interface Selection {
  readonly only: readonly string[];
  readonly skip: readonly string[];
  readonly set: readonly SettingOverride[];
}

export const NO_SELECTION: Selection = { only: [], skip: [], set: [] };

function orThrow<T>(parsed: ParsedSpec<T>): T {
  if (!parsed.ok) throw new ProfileError(parsed.error);
  return parsed.value;
}

/** Splits a comma-separated --only/--skip value; empty items are refused. */
export function parseBenchmarkList(flag: string, value: string): string[] {
  return orThrow(parseList(flag, value));
}

function typedValue(raw: string): number | boolean | string {
  return /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
}

/** Parses `disk.seq_read.fileMiB=4096`: the key is what follows the benchmark id's last dot. */
export function parseOverride(text: string): SettingOverride {
  const o = orThrow(parseSettingOverride(text));
  return { ...o, value: typedValue(o.value) };
}

/**
 * A job's profile text ("quick only=cpu set=…", what `job create` sends) as a profile name and
 * a selection; a ProfileError when it is not one.
 */
export function parseJobProfile(text: string, profileNames: readonly string[]): { name: string; selection: Selection } {
  const spec = orThrow(parseProfileSpec(text, profileNames));
  return { name: spec.name, selection: { only: spec.only, skip: spec.skip, set: spec.set.map((o) => ({ ...o, value: typedValue(o.value) })) } };
}

function matches(item: string, id: string): boolean {
  return item.includes('.') ? id === item : id.startsWith(`${item}.`);
}

function checkItems(flag: string, items: readonly string[], known: readonly string[]): void {
  for (const item of items) {
    if (!known.some((id) => matches(item, id))) {
      const categories = [...new Set(known.map((id) => id.slice(0, id.indexOf('.'))))];
      throw new ProfileError(`${flag}: no benchmark or category "${item}" (categories: ${categories.join(', ')}; \`guestbench-agent list\` shows the ids)`);
    }
  }
}

/** The profile name with the selection, as the run records it ("quick only=cpu"). */
export function describeSelection(profileName: string, selection: Selection): string {
  return formatProfileSpec({ name: profileName, ...selection, set: selection.set.map((o) => ({ ...o, value: String(o.value) })) });
}

/**
 * Applies --only (picked from every registered benchmark, in registry order), then --skip,
 * then --set. A name that matches nothing, an override of a benchmark that does not run, or
 * an empty result is a ProfileError; the overridden settings themselves are checked by the
 * benchmarks' parseSettings (see checkProfileSettings in the registry).
 */
export function applySelection(profile: Profile, selection: Selection, registered: readonly string[]): Profile {
  checkItems('--only', selection.only, registered);
  checkItems('--skip', selection.skip, registered);
  let benchmarks = selection.only.length > 0 ? registered.filter((id) => selection.only.some((item) => matches(item, id))) : [...profile.benchmarks];
  benchmarks = benchmarks.filter((id) => !selection.skip.some((item) => matches(item, id)));
  if (benchmarks.length === 0) throw new ProfileError(`--only/--skip leave no benchmark of profile "${profile.name}" to run`);
  const settings: Record<string, Record<string, unknown>> = { ...profile.settings };
  const parameterOverrides: Record<string, Record<string, string>> = { ...profile.parameterOverrides };
  for (const o of selection.set) {
    if (!registered.includes(o.benchmark))
      throw new ProfileError(`--set ${o.benchmark}.${o.key}: no benchmark "${o.benchmark}" (\`guestbench-agent list\` shows the ids)`);
    if (!benchmarks.includes(o.benchmark)) throw new ProfileError(`--set ${o.benchmark}.${o.key}: ${o.benchmark} does not run in this selection`);
    settings[o.benchmark] = { ...settings[o.benchmark], [o.key]: o.value };
    parameterOverrides[o.benchmark] = { ...parameterOverrides[o.benchmark], [o.key]: String(o.value) };
  }
  const name = describeSelection(profile.name, selection);
  if (name.length > MAX_PROFILE_SPEC_LENGTH)
    throw new ProfileError(`--only/--skip/--set: at most ${MAX_PROFILE_SPEC_LENGTH} characters in all, got ${name.length}`);
  return { ...profile, name, benchmarks, settings, parameterOverrides };
}
