import { runCommand } from './run-command';
import { Deadline } from './run-process';

describe('the live detection runner', () => {
  const savedPath = process.env['PATH'];
  afterEach(() => {
    process.env['PATH'] = savedPath;
  });

  it('finds a tool in the system folders when PATH does not list them', async () => {
    process.env['PATH'] = '/nonexistent';
    const outcome = await runCommand('sh', ['-c', 'echo kvm'], new Deadline(5000));
    expect(outcome).toEqual({ ok: true, command: expect.stringMatching(/^\/(usr\/)?bin\/sh -c echo kvm$/), stdout: 'kvm\n' });
  });

  it('keeps the output of a non-zero exit that printed an answer, as systemd-detect-virt does with "none"', async () => {
    await expect(runCommand('sh', ['-c', 'echo none; exit 1'], new Deadline(5000))).resolves.toMatchObject({ ok: true, stdout: 'none\n' });
  });

  it('says why a command gave nothing: its status and first stderr line, or that it is not installed', async () => {
    await expect(
      runCommand('sh', ['-c', 'echo "dmesg: read kernel buffer failed: Operation not permitted" >&2; exit 1'], new Deadline(5000)),
    ).resolves.toMatchObject({
      ok: false,
      reason: 'exit 1: dmesg: read kernel buffer failed: Operation not permitted',
    });
    await expect(runCommand('guestbench-no-such-tool', [], new Deadline(5000))).resolves.toMatchObject({
      ok: false,
      command: 'guestbench-no-such-tool',
      reason: expect.stringMatching(/^not installed \(searched PATH and .*\/usr\/bin/),
    });
  });
});
