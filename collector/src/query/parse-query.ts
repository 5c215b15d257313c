// Parses the query parameters that HTTP and gRPC share: group specs and run filters.
import { parseGroupKey } from '@guestbench/proto';
import { RUN_STATUSES, type RunStatus } from '../model';
import type { RunFilter } from '../store/store';

export type ParsedQuery<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** "platform" or "platform/label", e.g. "native", "kvm/virtio". */
export function parseGroupSpecStrict(value: string, field: string): ParsedQuery<string> {
  const parsed = parseGroupKey(value);
  return parsed.ok ? parsed : { ok: false, error: `${field}: ${parsed.error}` };
}

export function parseGroupList(values: readonly string[], field: string): ParsedQuery<string[]> {
  if (values.length > 100) return { ok: false, error: `${field}: at most 100 groups` };
  const out: string[] = [];
  for (const v of values) {
    const p = parseGroupSpecStrict(v, field);
    if (!p.ok) return p;
    out.push(p.value);
  }
  return { ok: true, value: out };
}

const RUN_FILTER_KEYS = ['platform', 'label', 'hostname', 'status', 'limit'] as const;

/** Parses `?platform=&label=&hostname=&status=&limit=`; unknown keys are errors. */
export function parseRunFilter(params: URLSearchParams): ParsedQuery<RunFilter> {
  for (const key of new Set(params.keys())) {
    if (!(RUN_FILTER_KEYS as readonly string[]).includes(key)) {
      return { ok: false, error: `unknown query parameter "${key.slice(0, 40)}" (known: ${RUN_FILTER_KEYS.join(', ')})` };
    }
  }
  const filter: { -readonly [K in keyof RunFilter]: RunFilter[K] } = {};
  for (const key of ['platform', 'label', 'hostname'] as const) {
    const v = params.get(key);
    if (v === null) continue;
    if (v.length === 0 || v.length > 255) return { ok: false, error: `${key}: 1 to 255 characters` };
    filter[key] = v;
  }
  const status = params.get('status');
  if (status !== null) {
    const statuses = status.split(',');
    const bad = statuses.find((s) => !(RUN_STATUSES as readonly string[]).includes(s));
    if (bad !== undefined) return { ok: false, error: `status: one or more of ${RUN_STATUSES.join(', ')}, got ${JSON.stringify(bad.slice(0, 40))}` };
    filter.statuses = statuses as RunStatus[];
  }
  const limit = params.get('limit');
  if (limit !== null) {
    if (!/^[0-9]{1,5}$/.test(limit) || Number(limit) < 1 || Number(limit) > 10_000) {
      return { ok: false, error: `limit: a whole number from 1 to 10000, got ${JSON.stringify(limit.slice(0, 40))}` };
    }
    filter.limit = Number(limit);
  } else {
    filter.limit = 1000;
  }
  return { ok: true, value: filter };
}
