// A sample in the protocol's shape: every field carried, the direction as the enum, and a
// round trip through the codec unchanged.
import { Direction, Sample } from './gen/guestbench/v1/common';
import { sampleToWire, type SampleFields } from './wire';

test('every field is carried, the trial count is the number of trials, and the codec round trip keeps it', () => {
  const fields: SampleFields = {
    id: 'r:mem.latency:p99',
    benchmarkId: 'mem.latency',
    metric: 'p99',
    unit: 'ns',
    direction: 'lower',
    value: 2,
    trials: [1, 2, 3],
    rsd: 0.5,
    stealFraction: 0.01,
    parameters: { workingSetMiB: '256' },
    primary: false,
    clocksource: 'kvm-clock',
    durationSeconds: 3,
    finishedAtMs: 1700000000000,
    flags: ['not-settled'],
  };
  const wire = sampleToWire(fields);
  expect(wire).toEqual({ ...fields, direction: Direction.DIRECTION_LOWER_IS_BETTER, trialCount: 3 });
  expect(Sample.decode(Sample.encode(wire).finish())).toEqual(wire);
  expect(sampleToWire({ ...fields, direction: 'higher' }).direction).toBe(Direction.DIRECTION_HIGHER_IS_BETTER);
});
