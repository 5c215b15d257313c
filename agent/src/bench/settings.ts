// Typed reading of a benchmark's profile settings, so every benchmark refuses bad values
// with the same kind of message.
import { ProfileError } from '../profiles/profile';

export interface NumberSetting {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

/**
 * Parses `raw` against `spec`: unknown keys and out-of-range values are ProfileErrors that
 * name the benchmark, the key and the allowed range.
 */
export function parseNumberSettings<K extends string>(
  benchmarkId: string,
  raw: Readonly<Record<string, unknown>>,
  spec: Readonly<Record<K, NumberSetting>>,
): Record<K, number> {
  const keys = Object.keys(spec) as K[];
  for (const key of Object.keys(raw)) {
    if (!(keys as string[]).includes(key)) {
      throw new ProfileError(`${benchmarkId}: unknown setting "${key}" (known: ${keys.join(', ') || 'none'})`);
    }
  }
  const out = {} as Record<K, number>;
  for (const key of keys) {
    const s = spec[key];
    const v = raw[key] ?? s.default;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < s.min || v > s.max || (s.integer === true && !Number.isInteger(v))) {
      const kind = s.integer === true ? 'a whole number' : 'a number';
      throw new ProfileError(`${benchmarkId}: setting "${key}" must be ${kind} from ${s.min} to ${s.max}, got ${JSON.stringify(v)}`);
    }
    out[key] = v;
  }
  return out;
}
