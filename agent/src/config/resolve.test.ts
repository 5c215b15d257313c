import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve as resolvePath } from 'node:path';
import { oemStringsEntry } from '../../test/fixtures/config/smbios-bytes';
import { resolveAgentConfig, type ResolveInput } from './resolve';
import { runCommand, type RunCommand } from './run-command';
import { isConfigError } from './settings';

const FIXTURES = resolvePath(__dirname, '../../test/fixtures/config');
const bin = (name: string): string => join(FIXTURES, 'bin', name);
// The fake tools are shell scripts; they need /bin/sh and friends on PATH too.
const pathWith = (...dirs: string[]): string => [...dirs, '/usr/bin', '/bin'].join(delimiter);

describe('resolveAgentConfig', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gb-config-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function withSmbios(strings: string[]): Promise<void> {
    await mkdir(join(root, 'sys/firmware/dmi/entries/11-0'), { recursive: true });
    await writeFile(join(root, 'sys/firmware/dmi/entries/11-0/raw'), oemStringsEntry(strings));
  }
  async function withFwCfg(text: string): Promise<void> {
    const dir = join(root, 'sys/firmware/qemu_fw_cfg/by_name/opt/org.guestbench/config');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'raw'), text);
  }
  async function withConfigFile(fixture: string): Promise<string> {
    await mkdir(join(root, 'etc/guestbench'), { recursive: true });
    const path = join(root, 'etc/guestbench/agent.json');
    await copyFile(join(FIXTURES, 'files', fixture, 'agent.json'), path);
    return path;
  }
  const resolve = (input: Partial<ResolveInput> = {}) => resolveAgentConfig({ flags: {}, env: { PATH: pathWith() }, root, ...input });

  it('takes each setting from the highest place that has it: flag > env > file > hypervisor', async () => {
    const file = await withConfigFile('good'); // collector, label, profile
    await withSmbios(['guestbench.collector=10.9.9.9:1', 'guestbench.token=smbios-token-xyz', 'guestbench.platform=kvm', 'guestbench.label=smbios']);
    const config = await resolve({
      flags: { collector: '192.0.2.1:50051' },
      env: { PATH: pathWith(), GUESTBENCH_COLLECTOR: '192.0.2.2:1', GUESTBENCH_LABEL: 'from-env', GUESTBENCH_PROFILE: '' },
    });
    expect(config.collector).toEqual({
      value: { list: [{ host: '192.0.2.1', port: 50051, address: '192.0.2.1:50051' }], address: '192.0.2.1:50051' },
      source: 'flag',
    });
    expect(config.label).toEqual({ value: 'from-env', source: 'env' });
    expect(config.profile).toEqual({ value: 'quick', source: `file:${file}` }); // the empty variable does not count
    expect(config.token).toEqual({ value: 'smbios-token-xyz', source: 'smbios' });
    expect(config.platform).toEqual({ value: 'kvm', source: 'smbios' });
  });

  it('reads what QEMU gave a real TCG guest over SMBIOS and fw_cfg (captured bytes)', async () => {
    const config = await resolveAgentConfig({ flags: {}, env: { PATH: pathWith() }, root: join(FIXTURES, 'qemu-tcg') });
    expect(config.collector).toEqual({
      value: { list: [{ host: '10.0.2.2', port: 50051, address: '10.0.2.2:50051' }], address: '10.0.2.2:50051' },
      source: 'smbios',
    });
    expect(config.label).toEqual({ value: 'tcg-standin', source: 'smbios' });
    expect(config.profile).toEqual({ value: 'smoke', source: 'smbios' });
    expect(config.token).toEqual({ value: 'fwcfg-token-0123456789', source: 'fw_cfg' });
  });

  it('orders the hypervisor channels smbios > fw_cfg > vmware-guestinfo > xenstore, per setting', async () => {
    await withSmbios(['SeaBIOS says hello', 'guestbench.collector=10.0.2.2:50051']);
    await withFwCfg('{"collector": "10.0.2.3:1", "token": "fwcfg-token-123456"}');
    const config = await resolve({ env: { PATH: pathWith(bin('vmware'), bin('xen')) } });
    expect(config.collector).toMatchObject({ value: { address: '10.0.2.2:50051' }, source: 'smbios' });
    expect(config.token).toEqual({ value: 'fwcfg-token-123456', source: 'fw_cfg' });
    expect(config.label).toEqual({ value: 'xen-pvh', source: 'xenstore' });
    expect(config.profile).toBeUndefined();
    expect(config.sources.map((s) => [s.source, s.status])).toEqual([
      ['file', 'absent'],
      ['smbios', 'found'],
      ['fw_cfg', 'found'],
      ['vmware-guestinfo', 'found'],
      ['xenstore', 'found'],
    ]);
  });

  it('reads VMware guestinfo keys through vmware-rpctool on PATH', async () => {
    const config = await resolve({ env: { PATH: pathWith(bin('vmware')) } });
    expect(config.collector).toMatchObject({ value: { list: [{ host: 'vmware.example', port: 7001 }] }, source: 'vmware-guestinfo' });
    expect(config.token).toEqual({ value: 'vmware-token-0123456789', source: 'vmware-guestinfo' });
  });

  it('falls back to the OVF environment of a vApp-deployed VM', async () => {
    const config = await resolve({ env: { PATH: pathWith(bin('vmware-ovf')) } });
    expect(config.collector).toMatchObject({ value: { address: 'ovf.example:7002' }, source: 'vmware-guestinfo' });
    expect(config.token).toEqual({ value: 'ovf&token<42>', source: 'vmware-guestinfo' });
    expect(config.label).toBeUndefined(); // an empty property is no value
  });

  it('reads Xen vm-data keys through xenstore-read on PATH', async () => {
    const config = await resolve({ env: { PATH: pathWith(bin('xen')) } });
    expect(config.collector).toMatchObject({ value: { address: 'xen.example:7003' }, source: 'xenstore' });
    expect(config.token).toEqual({ value: 'xen-token-abcdefghijkl', source: 'xenstore' });
  });

  it('skips missing hypervisor tools quietly and reports why', async () => {
    const config = await resolve();
    expect(config.collector).toBeUndefined();
    expect(config.sources).toEqual(
      expect.arrayContaining([
        { source: 'smbios', status: 'absent', detail: 'no DMI tables in sysfs' },
        { source: 'vmware-guestinfo', status: 'absent', detail: 'vmware-rpctool not on PATH' },
        { source: 'xenstore', status: 'absent', detail: 'xenstore-read not on PATH' },
      ]),
    );
  });

  it('asks each hypervisor tool once when it says this is not its hypervisor', async () => {
    const calls: string[] = [];
    const counting: RunCommand = (command, args, env, deadline) => {
      calls.push(command);
      return runCommand(command, args, env, deadline);
    };
    const config = await resolve({ runCommand: counting, env: { PATH: pathWith(bin('not-vmware'), bin('not-xen')) } });
    expect(calls.sort()).toEqual(['vmware-rpctool', 'xenstore-read']);
    expect(config.sources.find((s) => s.source === 'vmware-guestinfo')).toMatchObject({ status: 'absent', detail: expect.stringMatching(/^not a VMware VM/) });
    expect(config.sources.find((s) => s.source === 'xenstore')).toMatchObject({ status: 'absent', detail: expect.stringMatching(/^not a Xen guest/) });
  });

  it('asks no hypervisor tool when flags and env already gave every setting', async () => {
    const runCommand = jest.fn<ReturnType<RunCommand>, Parameters<RunCommand>>();
    const config = await resolve({
      runCommand,
      flags: { collector: 'a.example:1', token: 't', label: 'l', platform: 'auto' },
      env: { GUESTBENCH_PROFILE: 'smoke' },
    });
    expect(runCommand).not.toHaveBeenCalled();
    expect(config.profile).toEqual({ value: 'smoke', source: 'env' });
    expect(config.sources.filter((s) => s.status === 'skipped')).toHaveLength(4);
  });

  it('uses defaults only when nothing else gives a value', async () => {
    await withSmbios(['guestbench.profile=smoke']);
    const config = await resolve({ defaults: { profile: 'quick', platform: 'auto' } });
    expect(config.profile).toEqual({ value: 'smoke', source: 'smbios' });
    expect(config.platform).toEqual({ value: 'auto', source: 'default' });
  });

  describe('hypervisor tools that fail or hang', () => {
    /** True while the process runs (a zombie no longer does). */
    const isRunning = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };

    it('reports a tool that exits with an error status by that status and its first stderr line, not as "not set"', async () => {
      const config = await resolve({ env: { PATH: pathWith(bin('failing-vmware')) } });
      expect(config.sources.find((s) => s.source === 'vmware-guestinfo')).toEqual({
        source: 'vmware-guestinfo',
        status: 'error',
        detail: 'vmware-rpctool exit 2: vmware-rpctool: RPCI channel refused: Permission denied (asking for guestinfo.guestbench.collector)',
      });
    });

    it('reports a crashing tool by its signal', async () => {
      const config = await resolve({ env: { PATH: pathWith(bin('crashing-vmware')) } });
      expect(config.sources.find((s) => s.source === 'vmware-guestinfo')).toMatchObject({
        status: 'error',
        detail: expect.stringMatching(/^vmware-rpctool killed by SIGSEGV/),
      });
    });

    it('tells a Xen store the user may not open from a machine without Xen', async () => {
      const refused = await resolve({ env: { PATH: pathWith(bin('refused-xen')) } });
      expect(refused.sources.find((s) => s.source === 'xenstore')).toMatchObject({
        status: 'error',
        detail: expect.stringMatching(/^xenstore-read exit 1: xenstore-read: xs_open: Permission denied/),
      });
      const notXen = await resolve({ env: { PATH: pathWith(bin('not-xen')) } });
      expect(notXen.sources.find((s) => s.source === 'xenstore')).toMatchObject({ status: 'absent' });
    });

    it('stops a tool that ignores SIGTERM, and its child, when the budget is spent', async () => {
      const pidFile = join(root, 'pids');
      const started = Date.now();
      const config = await resolve({ budgetMs: 800, env: { PATH: pathWith(bin('stubborn-vmware')), GB_PIDFILE: pidFile } });
      const elapsed = Date.now() - started;
      expect(config.sources.find((s) => s.source === 'vmware-guestinfo')).toMatchObject({
        status: 'error',
        detail: expect.stringMatching(/^vmware-rpctool timed out, budget of 800 ms spent; its process group was killed/),
      });
      // The helper sleeps 30 s; without the group kill this would wait for it.
      expect(elapsed).toBeLessThan(10_000);
      const pids = (await readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
    });

    it('bounds all calls of one resolution by one budget, however many keys are asked for', async () => {
      const calls = join(root, 'calls');
      const config = await resolve({ budgetMs: 1200, env: { PATH: pathWith(bin('slow-vmware')), GB_CALLS: calls } });
      // Five settings are wanted at 0.5 s a call; the budget allows the first two or three.
      const asked = (await readFile(calls, 'utf8')).trim().split('\n');
      expect(asked.length).toBeGreaterThanOrEqual(2);
      expect(asked.length).toBeLessThan(5);
      expect(config.collector).toMatchObject({ value: { address: 'slow.example:7001' }, source: 'vmware-guestinfo' });
      expect(config.sources.find((s) => s.source === 'vmware-guestinfo')).toMatchObject({
        status: 'error',
        detail: expect.stringMatching(/timed out, budget of 1200 ms spent/),
      });
    });
  });

  describe('errors name the place and the setting', () => {
    async function failure(input: Partial<ResolveInput>): Promise<Error> {
      try {
        await resolve(input);
      } catch (err) {
        expect(isConfigError(err)).toBe(true);
        return err as Error;
      }
      throw new Error('expected a ConfigError');
    }

    it('rejects a config file that is not JSON', async () => {
      const file = await withConfigFile('bad-json');
      expect((await failure({})).message).toMatch(new RegExp(`^config file ${file}: not valid JSON`));
    });

    it('rejects an unknown key in the config file, even when flags give everything', async () => {
      const file = await withConfigFile('unknown-key');
      const err = await failure({ flags: { collector: 'a.example:1' } });
      expect(err.message).toBe(`config file ${file}: unknown key "colector" (known: collector, token, label, platform, profile)`);
    });

    it('rejects a value of the wrong type in the config file', async () => {
      const file = await withConfigFile('wrong-type');
      expect((await failure({})).message).toBe(`config file ${file}: "token" must be a string, got number`);
    });

    it('rejects a missing config file only when one was named', async () => {
      await expect(resolve()).resolves.toBeDefined();
      expect((await failure({ configFile: join(root, 'nope.json') })).message).toMatch(/nope\.json: cannot read it \(ENOENT\)/);
    });

    it('rejects a collector that is not HOST:PORT, naming where it came from', async () => {
      expect((await failure({ env: { GUESTBENCH_COLLECTOR: 'collector.example' } })).message).toBe(
        'collector from environment GUESTBENCH_COLLECTOR: expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got "collector.example", which has no port',
      );
      await withSmbios(['guestbench.collector=10.0.2.2:99999']);
      expect((await failure({})).message).toMatch(
        /^collector from the SMBIOS OEM string guestbench.collector: expected HOST:PORT .*, which has port 99999 outside 1-65535$/,
      );
    });

    // The collector refuses these with INVALID_ARGUMENT; the agent must refuse them first,
    // whatever the source, before anything runs.
    it('refuses a label, platform or profile the collector would refuse, from every source, naming it', async () => {
      expect((await failure({ flags: { label: 'two words' } })).message).toBe(
        'label from flag --label: expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got "two words"',
      );
      expect((await failure({ env: { GUESTBENCH_PLATFORM: 'bochs' } })).message).toBe(
        'platform from environment GUESTBENCH_PLATFORM: expected auto or one of native, kvm, qemu, vmware, xen, hyperv, other, got "bochs"',
      );
      await withSmbios(['guestbench.label=lab 1', 'guestbench.profile=fast']);
      expect((await failure({})).message).toBe(
        'label from the SMBIOS OEM string guestbench.label: expected 1 to 64 letters, digits and . _ - = (no spaces, slashes or commas), got "lab 1"',
      );
      expect((await failure({ flags: { label: 'ok' } })).message).toBe(
        'profile from the SMBIOS OEM string guestbench.profile: expected one of smoke, quick, standard, full, got "fast"',
      );
      await rm(join(root, 'sys'), { recursive: true });
      await withFwCfg('{"label": "kvm/virtio"}');
      expect((await failure({})).message).toMatch(/^label from fw_cfg opt\/org.guestbench\/config: expected 1 to 64 letters/);
      await rm(join(root, 'sys'), { recursive: true });
      const file = await withConfigFile('good');
      await writeFile(file, '{"platform": "VMware"}');
      expect((await failure({})).message).toBe(
        `platform from config file ${file}: expected auto or one of native, kvm, qemu, vmware, xen, hyperv, other, got "VMware"`,
      );
    });

    it('takes a comma list of collectors from any place, a hypervisor channel too, and names a bad item', async () => {
      await withSmbios(['guestbench.collector=10.0.2.2:50051,10.0.2.3:50051']);
      const config = await resolve({});
      expect(config.collector).toEqual({
        value: {
          list: [
            { host: '10.0.2.2', port: 50051, address: '10.0.2.2:50051' },
            { host: '10.0.2.3', port: 50051, address: '10.0.2.3:50051' },
          ],
          address: '10.0.2.2:50051,10.0.2.3:50051',
        },
        source: 'smbios',
      });
      expect((await failure({ env: { GUESTBENCH_COLLECTOR: 'a.example:1,b.example' } })).message).toBe(
        'collector from environment GUESTBENCH_COLLECTOR (address 2): expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got "b.example", which has no port',
      );
    });

    it('ignores a bad lower-priority value that a higher one overrides', async () => {
      await withSmbios(['guestbench.collector=not an address']);
      const config = await resolve({ flags: { collector: '[fd00::2]:50051' } });
      expect(config.collector).toEqual({
        value: { list: [{ host: 'fd00::2', port: 50051, address: '[fd00::2]:50051' }], address: '[fd00::2]:50051' },
        source: 'flag',
      });
    });

    it('rejects a fw_cfg blob that is not a settings object', async () => {
      await withFwCfg('collector=10.0.2.2:1\n');
      expect((await failure({})).message).toMatch(/^fw_cfg opt\/org.guestbench\/config: not valid JSON/);
    });
  });
});
