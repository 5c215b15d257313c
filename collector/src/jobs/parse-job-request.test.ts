import { parseJobRequest } from './parse-job-request';

test('a job request keeps the profile text in its canonical form, and refuses a bad one with its reason', () => {
  expect(parseJobRequest({ profile: 'smoke only=cpu set=mem.latency.workingSetMiB=8' })).toEqual({
    ok: true,
    value: { platform: '', profile: 'smoke only=cpu set=mem.latency.workingSetMiB=8', label: '' },
  });
  expect(parseJobRequest({})).toMatchObject({ ok: true, value: { profile: 'quick' } });
  expect(parseJobRequest({ profile: 'quick skip=' })).toMatchObject({ ok: false, error: expect.stringMatching(/profile skip: comma-separated/) });
});
