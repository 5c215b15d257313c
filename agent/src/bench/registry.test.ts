// Every registered benchmark must produce samples the collector accepts.
import { BENCHMARK_ID_PATTERN, MAX_UNIT_LENGTH, METRIC_PATTERN } from '@guestbench/proto';
import { listBenchmarks } from './registry';

test.each(listBenchmarks().map((b) => [b.id, b] as const))('%s has a valid id, metrics and exactly one primary metric', (id, b) => {
  expect(id).toMatch(BENCHMARK_ID_PATTERN);
  expect(b.metrics.length).toBeGreaterThan(0);
  expect(b.metrics.filter((m) => m.primary)).toHaveLength(1);
  expect(new Set(b.metrics.map((m) => m.name)).size).toBe(b.metrics.length);
  for (const m of b.metrics) {
    expect(m.name).toMatch(METRIC_PATTERN);
    expect(m.unit.length).toBeGreaterThan(0);
    expect(m.unit.length).toBeLessThanOrEqual(MAX_UNIT_LENGTH);
    expect(['higher', 'lower']).toContain(m.direction);
  }
});
