import { usageFailureText } from './cli-text';

test('a refused argument points at the help of the command named, else the program', () => {
  expect(usageFailureText('guestbench-agent', 'unknown option --fast', ['run', '--fast'], ['run', 'bench'])).toBe(
    'guestbench-agent: unknown option --fast\nRun `guestbench-agent run --help` for usage.\n',
  );
  expect(usageFailureText('guestbench-collector', 'unknown command "srve"', ['srve'], ['serve'])).toBe(
    'guestbench-collector: unknown command "srve"\nRun `guestbench-collector --help` for usage.\n',
  );
  expect(usageFailureText('guestbench-agent', 'a command is needed', [], ['run'])).toBe(
    'guestbench-agent: a command is needed\nRun `guestbench-agent --help` for usage.\n',
  );
});
