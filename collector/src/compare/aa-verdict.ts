// The A/A check: two groups of the same platform should measure the same, and the
// comparison should be precise enough to say so. A check that cannot fail proves nothing,
// so it has three answers and says what would turn "too noisy" into one of the others.
import { median, studentTQuantile } from './statistics';
import { groupKey } from '../model';
import type { Store } from '../store/store';
import { compare, parseGroupSpec, type CompareFilter, type CompareResult, type GroupResult } from './compare';

/** An A/A comparison agrees within ±5 % overall … */
export const AA_TOLERANCE = 0.05;
/** … when its median interval half-width is at most 15 %. */
export const AA_MAX_MEDIAN_HALF_WIDTH = 0.15;

export type AaVerdictKind = 'agrees' | 'too-noisy' | 'disagrees';

export interface AaVerdict {
  readonly verdict: AaVerdictKind;
  readonly a: string;
  readonly b: string;
  /** B relative to A over every category (geometric mean; 1.0 = the same). */
  readonly overall: number | undefined;
  readonly overallCiLow: number | undefined;
  readonly overallCiHigh: number | undefined;
  readonly medianHalfWidth: number | undefined;
  readonly runsA: number;
  readonly runsB: number;
  /** Runs per side that would bring the median half-width under the limit, if runs can. */
  readonly runsPerSideNeeded: number | undefined;
  /** One plain sentence: the verdict and why, and for too-noisy what to run. */
  readonly summary: string;
}

export class AaError extends Error {
  override readonly name = 'AaError';
  /** not-found: a group has no finished runs; invalid: the two groups cannot be A/A. */
  constructor(
    message: string,
    readonly kind: 'invalid' | 'not-found' = 'invalid',
  ) {
    super(message);
  }
}

export function isAaError(err: unknown): err is AaError {
  return err instanceof AaError;
}

const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;

/**
 * Projects each metric's half-width to n runs a side, from its standard error now (the
 * run-to-run spread it implies stays), and returns the smallest n up to 30 whose median
 * projected half-width meets the limit.
 */
function runsNeeded(group: GroupResult, runsA: number, runsB: number): number | undefined {
  const rows = group.benchmarks.filter((r) => r.primary && r.ciDf !== undefined && r.relative !== undefined && r.ciHigh !== undefined);
  if (rows.length === 0) return undefined;
  const now = 1 / Math.max(1, runsA) + 1 / Math.max(1, runsB);
  // The log half-width is t·se; the spread of one run is s = se / √(1/na + 1/nb).
  const spreads = rows.map((r) => Math.log((r.ciHigh as number) / (r.relative as number)) / studentTQuantile(0.975, r.ciDf as number) / Math.sqrt(now));
  for (let n = Math.max(2, Math.min(runsA, runsB)); n <= 30; n++) {
    const t = studentTQuantile(0.975, 2 * n - 2);
    if ((median(spreads.map((s) => Math.expm1(t * s * Math.sqrt(2 / n)))) as number) <= AA_MAX_MEDIAN_HALF_WIDTH) return n;
  }
  return undefined;
}

/** The verdict on `result`, a comparison whose baseline is group A and which includes group B. */
export function aaVerdict(result: CompareResult, bKey: string): AaVerdict {
  const a = result.groups.find((g) => g.isBaseline);
  const b = result.groups.find((g) => g.key === bKey);
  if (a === undefined || a.runIds.length === 0) throw new AaError(`group ${result.baseline} has no finished runs`, 'not-found');
  if (b === undefined) throw new AaError(`group ${bKey} has no finished runs`, 'not-found');
  if (a.platform !== b.platform) {
    throw new AaError(`an A/A check compares two groups of the same platform; ${a.key} is ${a.platform} and ${b.key} is ${b.platform}`);
  }
  const base = {
    a: a.key,
    b: b.key,
    overall: b.overallGeomean,
    overallCiLow: b.overallCiLow,
    overallCiHigh: b.overallCiHigh,
    medianHalfWidth: b.medianHalfWidth,
    runsA: a.runIds.length,
    runsB: b.runIds.length,
  };
  const o = b.overallGeomean;
  const h = b.medianHalfWidth;
  if (o === undefined || h === undefined) {
    return {
      ...base,
      verdict: 'too-noisy',
      runsPerSideNeeded: undefined,
      summary: `too noisy to tell: ${b.key} and ${a.key} share no metric with an interval; run the same profile on both`,
    };
  }
  const off = Math.abs(o - 1);
  const what = `${b.key} / ${a.key} overall ${o.toFixed(3)} (${base.overallCiLow?.toFixed(3) ?? '-'}–${base.overallCiHigh?.toFixed(3) ?? '-'}), median half-width ${pct(h)}, ${base.runsB} vs ${base.runsA} runs`;
  if (base.runsA < 2 || base.runsB < 2) {
    // Agreement is about runs repeating; with one run a side, their variation is unmeasured.
    const n = Math.max(2, runsNeeded(b, base.runsA, base.runsB) ?? 2);
    return {
      ...base,
      verdict: 'too-noisy',
      runsPerSideNeeded: n,
      summary: `too noisy to tell: ${what}; one run on a side measures no run-to-run variation: run about ${n} a side (${Math.max(0, n - base.runsA)} more of ${a.key}, ${Math.max(0, n - base.runsB)} more of ${b.key}, interleaved) for a verdict`,
    };
  }
  if (h <= AA_MAX_MEDIAN_HALF_WIDTH) {
    return off <= AA_TOLERANCE
      ? {
          ...base,
          verdict: 'agrees',
          runsPerSideNeeded: undefined,
          summary: `agrees: ${what} (within ±${pct(AA_TOLERANCE)}, half-width ≤ ${pct(AA_MAX_MEDIAN_HALF_WIDTH)})`,
        }
      : {
          ...base,
          verdict: 'disagrees',
          runsPerSideNeeded: undefined,
          summary: `disagrees: ${what}: the same platform measured ${pct(off)} apart, beyond ±${pct(AA_TOLERANCE)} with intervals precise enough to tell; look for drift, load or a changed setting between the groups`,
        };
  }
  const n = runsNeeded(b, base.runsA, base.runsB);
  const advice =
    n === undefined
      ? `more runs are unlikely to get there (over 30 a side): the runs vary too much; quiet the machine (other load, frequency scaling) or use a longer profile`
      : `run about ${n} a side (${Math.max(0, n - base.runsA)} more of ${a.key}, ${Math.max(0, n - base.runsB)} more of ${b.key}, interleaved) for a verdict`;
  return { ...base, verdict: 'too-noisy', runsPerSideNeeded: n, summary: `too noisy to tell: ${what}, above ${pct(AA_MAX_MEDIAN_HALF_WIDTH)}; ${advice}` };
}

/** Compares group B against group A (same platform) and gives the verdict with the comparison. */
export async function compareAa(store: Store, a: string, b: string, filter: CompareFilter = {}): Promise<{ verdict: AaVerdict; comparison: CompareResult }> {
  if (a === b) throw new AaError(`an A/A check needs two different groups, got ${a} twice`);
  const pa = parseGroupSpec(a);
  const pb = parseGroupSpec(b);
  if (pa.platform !== pb.platform)
    throw new AaError(`an A/A check compares two groups of the same platform; ${a} is ${pa.platform} and ${b} is ${pb.platform}`);
  const comparison = await compare(store, { baseline: a, groups: [b], filter: { hostname: filter.hostname, since: filter.since, until: filter.until } });
  return { verdict: aaVerdict(comparison, groupKey(pb.platform, pb.label)), comparison };
}
