import { isProfileError } from '../profiles/profile';
import { arrayOp, cpuArrays } from './cpu/arrays';
import { calibrateAsync } from './calibrate';
import { CALL_TARGETS, callChain, cpuCalls } from './cpu/calls';
import { cpuFloat32, float32Chain } from './cpu/float32';
import { cpuFloat64, float64Chain } from './cpu/float64';
import { cpuInt32, int32Chain } from './cpu/int32';
import { cpuInt64, INT64_INCREMENT, INT64_MULTIPLIER, int64Chain } from './cpu/int64';
import { cpuMath, mathCalls } from './cpu/math';
import { cpuMemory, loadsAndStores } from './cpu/memory';
import { signedLeb, unsignedLeb } from './cpu/wasm-module';
import { expectRates, oneTrial } from '../../test/helpers/kernel-trial';

describe('cpu.int32', () => {
  it('measures a finite positive rate in Mops/s', async () => {
    const { values } = await oneTrial(cpuInt32);
    expectRates(cpuInt32, values);
    expect(cpuInt32.metrics[0]?.unit).toBe('Mops/s');
    // Sanity: an int32 chain runs between 10 Mops/s (emulated) and 100 Gops/s.
    expect(values['throughput']).toBeGreaterThan(1);
    expect(values['throughput']).toBeLessThan(1e5);
  });

  it('computes the same chain as a reference in 32-bit arithmetic', () => {
    let x = 12345;
    for (let i = 0; i < 1000; i++) {
      x = Number(BigInt.asIntN(32, BigInt(x) * 1664525n + 1013904223n));
      x = x ^ Number(BigInt.asUintN(32, BigInt(x)) >> 13n);
      x = Number(BigInt.asIntN(32, BigInt(x) + (BigInt(x) << 5n)));
    }
    expect(int32Chain(1000, 12345)).toBe(x);
  });

  it('refuses settings it does not know', () => {
    expect(() => cpuInt32.parseSettings({ iterations: 5 })).toThrow(/cpu\.int32: unknown setting "iterations"/);
  });
});

describe('cpu.float64', () => {
  it('measures a finite positive rate in Mflops', async () => {
    const { values } = await oneTrial(cpuFloat64);
    expectRates(cpuFloat64, values);
    expect(cpuFloat64.metrics[0]?.unit).toBe('Mflops');
  });

  it('stays in normal range and converges to its fixed point', () => {
    expect(float64Chain(0, 0.1)).toBe(0.1);
    expect(float64Chain(10000, 0.1)).toBeCloseTo(22, 9);
    expect(Number.isFinite(float64Chain(10000, 1e300))).toBe(true);
  });

  it('refuses a bad value with a ProfileError', () => {
    let caught: unknown;
    try {
      cpuFloat64.parseSettings({ x: 1 });
    } catch (err: unknown) {
      caught = err;
    }
    expect(isProfileError(caught)).toBe(true);
  });
});

describe('cpu.int64', () => {
  it('measures a finite positive rate in Mops/s', async () => {
    const { values } = await oneTrial(cpuInt64);
    expectRates(cpuInt64, values);
    expect(cpuInt64.metrics[0]?.unit).toBe('Mops/s');
  });

  it('computes the checksum of an independent 64-bit reference, so it really does 64-bit arithmetic', () => {
    // The reference: BigInts reduced mod 2^64 after every operation that can overflow.
    const reference = (iterations: number, seed: bigint): bigint => {
      let x = BigInt.asUintN(64, seed);
      for (let i = 0; i < iterations; i++) {
        x = BigInt.asUintN(64, x * INT64_MULTIPLIER + INT64_INCREMENT);
        x ^= x >> 29n;
        x = BigInt.asUintN(64, x + (x << 7n));
      }
      return BigInt.asIntN(64, x); // i64 results reach JavaScript as signed BigInts
    };
    const chain = int64Chain();
    for (const [n, seed] of [
      [0, 1n],
      [1, 1n],
      [1000, 5n],
      [4321, -7n],
      [10000, 0x7fffffffffffffffn],
    ] as const) {
      expect(chain(n, seed)).toBe(reference(n, seed));
    }
    // The high half matters: a 32-bit or double computation could not produce these values.
    expect(BigInt.asUintN(64, chain(1000, 5n)) >> 32n).not.toBe(0n);
  });
});

describe('cpu.float32', () => {
  it('measures a finite positive rate in Mflops', async () => {
    const { values } = await oneTrial(cpuFloat32);
    expectRates(cpuFloat32, values);
    expect(cpuFloat32.metrics[0]?.unit).toBe('Mflops');
  });

  it('rounds to single precision at every step, unlike the same chain in double', () => {
    const f = Math.fround;
    const seed = f(1 / 3);
    let single = seed;
    let double = seed;
    for (let i = 0; i < 5; i++) {
      single = f(f(f(f(single * 0.75) + 1.5) * 1.25) - 0.5);
      double = (double * 0.75 + 1.5) * 1.25 - 0.5;
    }
    expect(float32Chain()(5, seed)).toBe(single);
    expect(single).not.toBe(double);
  });
});

describe('cpu.math', () => {
  it('measures a finite positive rate in Mcalls/s', async () => {
    const { values } = await oneTrial(cpuMath);
    expectRates(cpuMath, values);
    expect(cpuMath.metrics[0]?.unit).toBe('Mcalls/s');
  });

  it('sums the five functions', () => {
    expect(mathCalls(1)).toBeCloseTo(1 + Math.sin(1) + Math.cos(1) + Math.E + 0, 12);
  });
});

describe('cpu.memory', () => {
  it('measures a finite positive rate in Mops/s and records the working set', async () => {
    const { values, parameters } = await oneTrial(cpuMemory, { workingSetKiB: 4 });
    expectRates(cpuMemory, values);
    expect(cpuMemory.metrics[0]?.unit).toBe('Mops/s');
    expect(parameters).toEqual({ workingSetKiB: '4' });
  });

  it('stores what it loads', () => {
    const a = new Int32Array(128);
    loadsAndStores(a, 2); // i = 1 loads a[13] (0) and stores 0 + 1 at a[13 + 97]
    expect(a[13 + 97]).toBe(1);
  });

  it('refuses a working set that is not a power of two', () => {
    expect(() => cpuMemory.parseSettings({ workingSetKiB: 24 })).toThrow('cpu.memory: setting "workingSetKiB" must be a power of two, got 24');
    expect(() => cpuMemory.parseSettings({ workingSetKiB: 4096 })).toThrow(/from 1 to 1024, got 4096/);
  });
});

describe('cpu.arrays', () => {
  it('measures a finite positive rate in ops/s', async () => {
    const { values, parameters } = await oneTrial(cpuArrays, { length: 100 });
    expectRates(cpuArrays, values);
    expect(cpuArrays.metrics[0]?.unit).toBe('ops/s');
    expect(parameters).toEqual({ length: '100' });
  });

  it('leaves the array filled and sorted', () => {
    const a = new Array<number>(500).fill(0);
    arrayOp(a, 42);
    expect(a).toEqual([...a].sort((x, y) => x - y));
    expect(new Set(a).size).toBeGreaterThan(400);
  });
});

describe('cpu.calls', () => {
  it('measures a finite positive rate in Mcalls/s', async () => {
    const { values } = await oneTrial(cpuCalls);
    expectRates(cpuCalls, values);
    expect(cpuCalls.metrics[0]?.unit).toBe('Mcalls/s');
  });

  it('calls each of the eight targets in turn, as many times as asked in all', () => {
    expect(new Set(CALL_TARGETS).size).toBe(8);
    const counts = new Array<number>(8).fill(0);
    const counting = CALL_TARGETS.map((f, t) => (x: number) => {
      counts[t] = (counts[t] as number) + 1;
      return f(x);
    });
    let x = 11;
    for (const [t, n] of [
      [0, 13],
      [1, 12],
      [2, 12],
      [3, 12],
      [4, 12],
      [5, 12],
      [6, 12],
      [7, 12],
    ] as const) {
      for (let i = 0; i < n; i++) x = (CALL_TARGETS[t] as (v: number) => number)(x);
    }
    expect(callChain(counting, 97, 11)).toBe(x);
    expect(counts).toEqual([13, 12, 12, 12, 12, 12, 12, 12]);
  });
});

describe('wasm encoding', () => {
  it('encodes LEB128 as the spec examples do', () => {
    expect(unsignedLeb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(signedLeb(-123456n)).toEqual([0xc0, 0xbb, 0x78]);
    expect(signedLeb(63n)).toEqual([0x3f]);
    expect(signedLeb(64n)).toEqual([0xc0, 0x00]);
  });
});

describe('calibration', () => {
  it('sizes a trial to the target length, tolerating slow first calls', async () => {
    let calls = 0;
    // 10 µs per unit, but the first three calls run ten times slower, as before the JIT tiers up.
    const run = async (count: number): Promise<number> => count * 1e-5 * (++calls <= 3 ? 10 : 1);
    expect(await calibrateAsync(run, 0.5)).toBe(50_000);
  });

  it('respects the minimum count however slow the work', async () => {
    expect(await calibrateAsync(async (n) => n * 10, 0.5, { min: 3 })).toBe(3);
  });
});
