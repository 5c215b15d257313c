// --only, --skip and --set: narrow a profile to some benchmarks and override single settings.
// The result is an ordinary Profile whose name records what was changed, so the run carries
// it to the collector; overridden settings also go into the samples' parameters, which the
// comparison pairs on, so an override never mixes with runs that did not have it.
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

/** Splits a comma-separated --only/--skip value; empty items are refused. */
export function parseBenchmarkList(flag: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => !/^[a-z0-9_]+(\.[a-z0-9_]+)?$/.test(s))) {
    throw new ProfileError(`${flag}: comma-separated benchmark ids or categories such as cpu,disk.seq_read; got "${value}"`);
  }
  return items;
}

/** Parses `disk.seq_read.fileMiB=4096`: the key is what follows the benchmark id's last dot. */
export function parseOverride(text: string): SettingOverride {
  const m = /^([a-z0-9_]+\.[a-z0-9_]+)\.([A-Za-z][A-Za-z0-9_]*)=(.+)$/.exec(text);
  if (m === null) throw new ProfileError(`--set: expected BENCHMARK.SETTING=VALUE such as disk.seq_read.fileMiB=4096, got "${text}"`);
  const raw = m[3] as string;
  const value = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  return { benchmark: m[1] as string, key: m[2] as string, value };
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

/** A short, stable text of the selection for the run's profile field, or '' for none. */
export function describeSelection(selection: Selection): string {
  const parts: string[] = [];
  if (selection.only.length > 0) parts.push(`only=${selection.only.join(',')}`);
  if (selection.skip.length > 0) parts.push(`skip=${selection.skip.join(',')}`);
  for (const o of selection.set) parts.push(`set=${o.benchmark}.${o.key}=${String(o.value)}`);
  return parts.join(' ');
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
    if (!registered.includes(o.benchmark)) throw new ProfileError(`--set ${o.benchmark}.${o.key}: no benchmark "${o.benchmark}" (\`guestbench-agent list\` shows the ids)`);
    if (!benchmarks.includes(o.benchmark)) throw new ProfileError(`--set ${o.benchmark}.${o.key}: ${o.benchmark} does not run in this selection`);
    settings[o.benchmark] = { ...settings[o.benchmark], [o.key]: o.value };
    parameterOverrides[o.benchmark] = { ...parameterOverrides[o.benchmark], [o.key]: String(o.value) };
  }
  const described = describeSelection(selection);
  return { ...profile, name: described === '' ? profile.name : `${profile.name} ${described}`, benchmarks, settings, parameterOverrides };
}
