// Measured samples in the protocol's shape.
import { sampleId, sampleToWire as toWire, type Sample } from '@guestbench/proto';
import type { MeasuredSample } from '../bench/runner';

export function sampleToWire(runId: string, s: MeasuredSample): Sample {
  return toWire({ ...s, id: sampleId(runId, s.benchmarkId, s.metric) });
}
