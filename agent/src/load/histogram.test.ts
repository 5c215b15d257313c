import { Histogram } from './histogram';

/** The value at `percent` of sorted values, by the same rank rule as the histogram. */
function exact(sorted: readonly number[], percent: number): number {
  return sorted[Math.max(1, Math.ceil((percent / 100) * sorted.length)) - 1] as number;
}

describe('Histogram', () => {
  it('gives percentiles within 1% of the exact ones over six decades, and exact min, max and mean', () => {
    // Deterministic log-uniform values from 1 µs to 10 s.
    let x = 12345;
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      x = (x * 16807) % 2147483647;
      values.push(Math.round(10 ** ((x / 2147483647) * 7)));
    }
    const h = new Histogram();
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [1, 50, 66, 90, 99, 99.9]) {
      const want = exact(sorted, p);
      expect(Math.abs(h.percentile(p) - want)).toBeLessThanOrEqual(Math.max(1, want * 0.01));
    }
    expect(h.percentile(100)).toBe(sorted[sorted.length - 1]);
    expect(h.min).toBe(sorted[0]);
    expect(h.count).toBe(values.length);
    expect(h.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
  });

  it('is exact for small values and answers 0 when empty', () => {
    const h = new Histogram();
    expect(h.percentile(50)).toBe(0);
    for (const v of [3, 1, 2, 200, 100]) h.record(v);
    expect([h.percentile(20), h.percentile(40), h.percentile(60), h.percentile(80), h.percentile(100)]).toEqual([1, 2, 3, 100, 200]);
    expect(h.stddev).toBeCloseTo(Math.sqrt((3 ** 2 + 1 + 4 + 200 ** 2 + 100 ** 2) / 5 - (306 / 5) ** 2), 6);
  });

  it('merges as if all values had been recorded in one, across its serialised state', () => {
    const a = new Histogram();
    const b = new Histogram();
    const all = new Histogram();
    for (let i = 1; i <= 1000; i++) {
      (i % 3 === 0 ? a : b).record(i * 37);
      all.record(i * 37);
    }
    const merged = Histogram.from(structuredClone(a.state()));
    merged.merge(structuredClone(b.state()));
    for (const p of [10, 50, 99, 100]) expect(merged.percentile(p)).toBe(all.percentile(p));
    expect([merged.count, merged.min, merged.max, merged.mean]).toEqual([all.count, all.min, all.max, all.mean]);
  });
});
