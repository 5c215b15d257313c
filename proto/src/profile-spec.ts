// The text that names what a run or a job runs: a profile, then optional selections, e.g.
// "quick only=cpu,disk.seq_read skip=web set=disk.seq_read.fileMiB=4096". Runs carry it in
// their profile field and jobs hand it to agents, so agent and collector parse it alike.

/** One `set=BENCHMARK.KEY=VALUE`, the value as written. */
export interface SpecOverride {
  readonly benchmark: string;
  readonly key: string;
  readonly value: string;
}

export interface ProfileSpec {
  /** A built-in profile's name, or "file:NAME" for a profile file. */
  readonly name: string;
  readonly only: readonly string[];
  readonly skip: readonly string[];
  readonly set: readonly SpecOverride[];
}

/** Longest spec text a run or job may carry. */
export const MAX_PROFILE_SPEC_LENGTH = 512;

export type ParsedSpec<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ITEM = /^[a-z0-9_]+(\.[a-z0-9_]+)?$/;
const OVERRIDE = /^([a-z0-9_]+\.[a-z0-9_]+)\.([A-Za-z][A-Za-z0-9_]*)=([^\s=]{1,64})$/;

/** A comma-separated list of benchmark ids or categories (`cpu,disk.seq_read`). */
export function parseBenchmarkList(flag: string, value: string): ParsedSpec<string[]> {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => !ITEM.test(s)))
    return { ok: false, error: `${flag}: comma-separated benchmark ids or categories such as cpu,disk.seq_read; got "${value.slice(0, 80)}"` };
  return { ok: true, value: items };
}

/** `disk.seq_read.fileMiB=4096`: the key follows the benchmark id's second dot. */
export function parseSettingOverride(text: string): ParsedSpec<SpecOverride> {
  const m = OVERRIDE.exec(text);
  if (m === null) return { ok: false, error: `--set: expected BENCHMARK.SETTING=VALUE such as disk.seq_read.fileMiB=4096, got "${text.slice(0, 80)}"` };
  return { ok: true, value: { benchmark: m[1] as string, key: m[2] as string, value: m[3] as string } };
}

export function formatProfileSpec(spec: ProfileSpec): string {
  const parts = [spec.name];
  if (spec.only.length > 0) parts.push(`only=${spec.only.join(',')}`);
  if (spec.skip.length > 0) parts.push(`skip=${spec.skip.join(',')}`);
  for (const o of spec.set) parts.push(`set=${o.benchmark}.${o.key}=${o.value}`);
  return parts.join(' ');
}

/** Parses what formatProfileSpec wrote; `names` are the profile names allowed. */
export function parseProfileSpec(text: string, names: readonly string[]): ParsedSpec<ProfileSpec> {
  if (text.length > MAX_PROFILE_SPEC_LENGTH) return { ok: false, error: `profile: at most ${MAX_PROFILE_SPEC_LENGTH} characters, got ${text.length}` };
  const [name = '', ...words] = text.split(' ');
  if (!names.includes(name)) return { ok: false, error: `profile: one of ${names.join(', ')}; got ${JSON.stringify(name.slice(0, 40))}` };
  let only: string[] = [];
  let skip: string[] = [];
  const set: SpecOverride[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    const kind = word.slice(0, eq);
    const rest = word.slice(eq + 1);
    const parsed = kind === 'only' || kind === 'skip' ? parseBenchmarkList(`profile ${kind}`, rest) : kind === 'set' ? parseSettingOverride(rest) : undefined;
    if (parsed === undefined)
      return { ok: false, error: `profile: after the name come only=LIST, skip=LIST and set=B.KEY=VALUE; got ${JSON.stringify(word.slice(0, 40))}` };
    if (!parsed.ok) return parsed;
    if (kind === 'only') only = parsed.value as string[];
    else if (kind === 'skip') skip = parsed.value as string[];
    else set.push(parsed.value as SpecOverride);
  }
  return { ok: true, value: { name, only, skip, set } };
}
