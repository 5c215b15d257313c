// Per-operation latencies of one trial, and their percentiles. Shared by the disk and the
// network benchmarks, which both report p50/p99 beside their rate.

/** Collects latencies in microseconds without allocating per operation. */
export class LatencyRecorder {
  private values = new Float64Array(4096);
  private count = 0;

  add(microseconds: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = microseconds;
  }

  get size(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
  }

  /**
   * The p-th percentile (0 < p ≤ 100) by the nearest-rank method, as fio's completion
   * latency percentiles are; NaN when nothing was recorded.
   */
  percentile(p: number): number {
    return percentiles(this.values.subarray(0, this.count), [p])[0] ?? Number.NaN;
  }

  /** Several percentiles with one sort. */
  percentiles(ps: readonly number[]): number[] {
    return percentiles(this.values.subarray(0, this.count), ps);
  }
}

/** Nearest-rank percentiles of `values` (not modified). */
export function percentiles(values: Float64Array, ps: readonly number[]): number[] {
  if (values.length === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => {
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
    return sorted[rank - 1] as number;
  });
}
