import { Sample } from '@guestbench/proto';
import { MAX_LINGER_MS, SampleBatcher } from './sample-batcher';

const sample = (id: string): Sample => Sample.fromPartial({ id, benchmarkId: 'cpu.int32', metric: 'throughput' });

test('samples that arrive within the linger time share one batch, due linger ms after the first', () => {
  const b = new SampleBatcher({ lingerMs: 300 });
  expect(b.dueAtMs()).toBeUndefined();
  expect(b.add([sample('a')], 1000)).toEqual([]);
  expect(b.add([sample('b'), sample('c')], 1250)).toEqual([]);
  // Due from the first sample's arrival: a later one never pushes it back.
  expect(b.dueAtMs()).toBe(1300);
  const batch = b.take();
  expect(batch.samples.map((s) => s.id)).toEqual(['a', 'b', 'c']);
  expect(batch.queuedAtMs).toBe(1000);
  expect(b.size).toBe(0);
  expect(b.dueAtMs()).toBeUndefined();
  b.add([sample('d')], 5000);
  expect(b.dueAtMs()).toBe(5300);
});

test('a full batch is handed back at once', () => {
  const b = new SampleBatcher({ lingerMs: 1000, maxSamples: 2 });
  const full = b.add([sample('a'), sample('b'), sample('c')], 0);
  expect(full.map((f) => f.samples.map((s) => s.id))).toEqual([['a', 'b']]);
  expect(b.size).toBe(1);
});

test('no sample may be held longer than a second', () => {
  expect(() => new SampleBatcher({ lingerMs: MAX_LINGER_MS + 1 })).toThrow(/lingerMs: 0 to 1000 ms, got 1001/);
  expect(() => new SampleBatcher({ lingerMs: -1 })).toThrow(/lingerMs/);
  expect(() => new SampleBatcher({ maxSamples: 0 })).toThrow(/maxSamples/);
  expect(new SampleBatcher().lingerMs).toBeLessThanOrEqual(MAX_LINGER_MS);
});
