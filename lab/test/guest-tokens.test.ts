// Each guest run gets an agent token of its own: a token binds the one agent id that first
// enrolls with it, so a token shared by two guests would refuse the second.
import { guestTokensFromEnv } from '../src/cli/run-command';

test('one token per guest run, from GUESTBENCH_GUEST_TOKENS in order', () => {
  expect(guestTokensFromEnv({ GUESTBENCH_GUEST_TOKENS: 'a, b,c' }, 3)).toEqual(['a', 'b', 'c']);
  expect(guestTokensFromEnv({ GUESTBENCH_GUEST_TOKEN: 'only' }, 1)).toEqual(['only']);
  expect(guestTokensFromEnv({ GUESTBENCH_TOKEN: 'fallback' }, 1)).toEqual(['fallback']);
  expect(guestTokensFromEnv({}, 4)).toEqual([]);
});

test('fewer tokens than guest runs, or one twice, is refused before anything starts', () => {
  expect(() => guestTokensFromEnv({ GUESTBENCH_GUEST_TOKEN: 'shared' }, 2)).toThrow(/2 guest runs need 2 agent tokens, one each .* got 1/);
  expect(() => guestTokensFromEnv({ GUESTBENCH_GUEST_TOKENS: 'a,b' }, 3)).toThrow(/3 guest runs need 3 agent tokens/);
  expect(() => guestTokensFromEnv({ GUESTBENCH_GUEST_TOKENS: 'a,a' }, 2)).toThrow(/lists a token twice/);
});
