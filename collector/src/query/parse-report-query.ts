// Parses what chooses a report: `?baseline=&groups=&platform=&label=&host=&since=&until=`,
// shared by GET /, /api/v1/report, /api/v1/compare and the `report` command's flags.
// An empty value means "not set", as a submitted HTML form sends every field.
import { LABEL_PATTERN } from '@guestbench/proto';
import type { CompareFilter } from '../compare/compare';
import { parseGroupList, parseGroupSpecStrict, type ParsedQuery } from './parse-query';

export interface ReportQuery {
  /** "platform" or "platform/label". */
  readonly baseline: string;
  /** The groups compared; all when empty. */
  readonly groups: readonly string[];
  readonly filter: CompareFilter;
}

export const REPORT_QUERY_KEYS = ['baseline', 'groups', 'platform', 'label', 'host', 'since', 'until'] as const;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:\d{2})?$/;
const DAY_MS = 86_400_000;

/**
 * An ISO date or date-time (UTC unless it gives an offset), or unix milliseconds. A bare date
 * as `until` means the end of that day, so `since=2024-05-01&until=2024-05-01` is that day.
 */
export function parseTime(value: string, field: string, endOfDay: boolean): ParsedQuery<number> {
  const bad = {
    ok: false as const,
    error: `${field}: expected an ISO date such as 2024-05-01 or 2024-05-01T12:00:00Z, or unix milliseconds, got ${JSON.stringify(value.slice(0, 40))}`,
  };
  if (/^\d{1,15}$/.test(value)) return { ok: true, value: Number(value) };
  const m = ISO_TIME.exec(value);
  if (m === null) return bad;
  const dateOnly = m[4] === undefined;
  const text = dateOnly ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : `${value.replace(' ', 'T')}${m[8] === undefined ? 'Z' : ''}`;
  const ms = Date.parse(text);
  // Date.parse rolls 2024-02-31 over to March: refuse a date that does not exist.
  if (!Number.isFinite(ms) || new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).getUTCDate() !== Number(m[3])) return bad;
  return { ok: true, value: dateOnly && endOfDay ? ms + DAY_MS - 1 : ms };
}

function text(params: URLSearchParams, key: string): ParsedQuery<string | undefined> {
  const all = params.getAll(key).filter((v) => v !== '');
  if (all.length > 1) return { ok: false, error: `${key}: give it once` };
  const v = all[0];
  if (v !== undefined && v.length > 255) return { ok: false, error: `${key}: at most 255 characters` };
  return { ok: true, value: v };
}

/** Unknown keys are errors, naming the key; so are malformed values, naming the parameter. */
export function parseReportQuery(params: URLSearchParams, extraKeys: readonly string[] = []): ParsedQuery<ReportQuery> {
  for (const key of new Set(params.keys())) {
    if (!(REPORT_QUERY_KEYS as readonly string[]).includes(key) && !extraKeys.includes(key)) {
      return { ok: false, error: `unknown query parameter "${key.slice(0, 40)}" (known: ${[...REPORT_QUERY_KEYS, ...extraKeys].join(', ')})` };
    }
  }
  const baselineText = text(params, 'baseline');
  if (!baselineText.ok) return baselineText;
  const baseline = parseGroupSpecStrict(baselineText.value ?? 'native', 'baseline');
  if (!baseline.ok) return baseline;
  const groups = parseGroupList(
    params
      .getAll('groups')
      .flatMap((g) => g.split(','))
      .map((g) => g.trim())
      .filter((g) => g !== ''),
    'groups',
  );
  if (!groups.ok) return groups;
  const filter: { -readonly [K in keyof CompareFilter]: CompareFilter[K] } = {};
  const platform = text(params, 'platform');
  if (!platform.ok) return platform;
  if (platform.value !== undefined) {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(platform.value)) {
      return { ok: false, error: `platform: a platform name such as kvm or native, got ${JSON.stringify(platform.value.slice(0, 40))}` };
    }
    filter.platform = platform.value;
  }
  const label = text(params, 'label');
  if (!label.ok) return label;
  if (label.value !== undefined) {
    if (!LABEL_PATTERN.test(label.value)) {
      return { ok: false, error: `label: up to 64 letters, digits and . _ - = (as runs are labelled), got ${JSON.stringify(label.value.slice(0, 80))}` };
    }
    filter.label = label.value;
  }
  const host = text(params, 'host');
  if (!host.ok) return host;
  if (host.value !== undefined) filter.hostname = host.value;
  for (const key of ['since', 'until'] as const) {
    const v = text(params, key);
    if (!v.ok) return v;
    if (v.value === undefined) continue;
    const t = parseTime(v.value, key, key === 'until');
    if (!t.ok) return t;
    filter[key] = t.value;
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    return { ok: false, error: 'since: must not be after until' };
  }
  return { ok: true, value: { baseline: baseline.value, groups: groups.value, filter } };
}

/** The query again as URL parameters (for links, and for `report --url`). */
export function reportQueryParams(q: ReportQuery): URLSearchParams {
  const p = new URLSearchParams();
  p.set('baseline', q.baseline);
  if (q.groups.length > 0) p.set('groups', q.groups.join(','));
  const f = q.filter;
  if (f.platform !== undefined) p.set('platform', f.platform);
  if (f.label !== undefined) p.set('label', f.label);
  if (f.hostname !== undefined) p.set('host', f.hostname);
  if (f.since !== undefined) p.set('since', String(f.since));
  if (f.until !== undefined) p.set('until', String(f.until));
  return p;
}
