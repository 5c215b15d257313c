// A log-linear (HDR-style) histogram of latencies in microseconds: exact below 256 µs, then
// 128 buckets per power of two (under 0.8% error), so percentiles stay exact enough at any
// scale in fixed memory, and histograms of several threads merge by adding counts.

/** Linear region and per-octave resolution: 2^8 exact values, then 2^7 buckets per octave. */
const SUB_BITS = 8;
const LINEAR = 1 << SUB_BITS;
const HALF = LINEAR >> 1;
/** Largest power of two tracked: 2^40 µs is about 12 days; larger values land in the last bucket. */
const MAX_BITS = 40;
const BUCKETS = LINEAR + (MAX_BITS - SUB_BITS) * HALF;
const TWO_32 = 4294967296;

function highestBit(v: number): number {
  return v < TWO_32 ? 31 - Math.clz32(v) : 63 - Math.clz32(Math.floor(v / TWO_32));
}

function indexOf(v: number): number {
  if (v < LINEAR) return v;
  const shift = highestBit(v) - SUB_BITS + 1;
  // A shift instead of a division by 2 ** shift (Math.pow showed in profiles) below 2^32.
  const top = v < TWO_32 ? v >>> shift : Math.floor(v / 2 ** shift);
  const index = LINEAR + (shift - 1) * HALF + (top - HALF);
  return index < BUCKETS ? index : BUCKETS - 1;
}

/** Highest value that lands in bucket `index`. */
function highestIn(index: number): number {
  if (index < LINEAR) return index;
  const region = Math.floor((index - LINEAR) / HALF) + 1;
  const sub = ((index - LINEAR) % HALF) + HALF;
  return (sub + 1) * 2 ** region - 1;
}

/** The serialisable state of a histogram, as posted between threads. */
export interface HistogramState {
  readonly counts: Float64Array;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly sumSquares: number;
}

/** Latencies in whole microseconds (fractions are rounded, negatives count as 0). */
export class Histogram {
  private counts = new Float64Array(BUCKETS);
  private n = 0;
  private lo = Infinity;
  private hi = 0;
  private total = 0;
  private squares = 0;

  record(microseconds: number): void {
    const v = microseconds > 0 ? Math.round(microseconds) : 0;
    (this.counts as Float64Array)[indexOf(v)]! += 1;
    this.n++;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    this.total += v;
    this.squares += v * v;
  }

  get count(): number {
    return this.n;
  }

  get min(): number {
    return this.n === 0 ? 0 : this.lo;
  }

  get max(): number {
    return this.hi;
  }

  get mean(): number {
    return this.n === 0 ? 0 : this.total / this.n;
  }

  /** Population standard deviation, as ab prints it. */
  get stddev(): number {
    if (this.n === 0) return 0;
    const m = this.total / this.n;
    return Math.sqrt(Math.max(0, this.squares / this.n - m * m));
  }

  /**
   * The smallest recorded value such that `percent` % of the values are at or below it,
   * within the bucket's resolution; 100 gives the exact maximum.
   */
  percentile(percent: number): number {
    if (this.n === 0) return 0;
    if (percent >= 100) return this.hi;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return Math.min(Math.max(highestIn(i), this.lo), this.hi);
    }
    return this.hi;
  }

  /** Adds another histogram's values to this one. */
  merge(other: Histogram | HistogramState): void {
    const state = other instanceof Histogram ? other.state() : other;
    if (state.count === 0) return;
    for (let i = 0; i < BUCKETS; i++) (this.counts as Float64Array)[i]! += state.counts[i] ?? 0;
    this.n += state.count;
    this.lo = Math.min(this.lo, state.min);
    this.hi = Math.max(this.hi, state.max);
    this.total += state.sum;
    this.squares += state.sumSquares;
  }

  state(): HistogramState {
    return { counts: this.counts, count: this.n, min: this.min, max: this.hi, sum: this.total, sumSquares: this.squares };
  }

  static from(state: HistogramState): Histogram {
    const h = new Histogram();
    h.merge(state);
    return h;
  }
}
