// guestbench-lab bake on an image guestbench did not build: a plain Debian minbase (debootstrap,
// no Node, no systemd unit of ours) as a raw ext4 image. bake --out must leave the original as
// it was, put the agent, Node and the enabled unit into the copy, run there, and change nothing
// when run again. And a bootable plain Debian (kernel, systemd, DHCP: what a user's own image
// has, but no guestbench) baked the same way boots through libvirtd and its agent's run reaches
// a collector.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHarness } from '../helpers/collector-harness';

const REPO = path.resolve(__dirname, '..', '..');
const LAB_CLI = path.join(REPO, 'lab', 'dist', 'cli', 'main.js');
const CI = process.env['CI'] === 'true';
/** Kept between runs: debootstrap takes minutes. */
const PLAIN = '/var/cache/guestbench/lab-test/plain-debian12.raw';
/** A bootable plain Debian: the raw root file system, and its kernel and initrd beside it. */
const BOOTABLE = '/var/cache/guestbench/lab-test/plain-debian12-boot.raw';
const ENV = { LIBGUESTFS_BACKEND: 'direct' };

function sh(file: string, args: readonly string[], timeoutMs = 30 * 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...ENV } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let skipReason: string | undefined;
let dir: string;

beforeAll(async () => {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const ensure = await sh('bash', [path.join(REPO, 'scripts/ensure-libvirt.sh'), '--with-guestfs', ...(isRoot ? [] : ['--check'])]);
  if (ensure.code !== 0 || !isRoot) skipReason = `libguestfs (guestfs-tools) and root are needed: ${ensure.stderr.trim() || 'not root'}`;
  else if (!fs.existsSync(PLAIN)) {
    // A Debian that guestbench never touched: debootstrap's minbase, as a bare ext4 file system.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'plain-debian-'));
    try {
      const deb = await sh('debootstrap', ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian']);
      if (deb.code !== 0) skipReason = `debootstrap failed: ${deb.stderr.slice(-2000)}`;
      else {
        fs.mkdirSync(path.dirname(PLAIN), { recursive: true });
        const mk = await sh('mkfs.ext4', ['-q', '-F', '-L', 'plain-root', '-d', root, `${PLAIN}.tmp`, '1536M']);
        if (mk.code !== 0) throw new Error(`mkfs.ext4 failed: ${mk.stderr}`);
        fs.renameSync(`${PLAIN}.tmp`, PLAIN);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  if (skipReason === undefined && !fs.existsSync(BOOTABLE)) skipReason = await makeBootable();
  if (skipReason !== undefined) {
    if (CI) throw new Error(skipReason);
    console.warn(`\n*** SKIPPING the bake test: ${skipReason}\n`);
    return;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-bake-'));
}, 40 * 60_000);

/**
 * Debian as a user might have made it, with nothing of guestbench: minbase, systemd, udev, the
 * cloud kernel, DHCP through systemd-networkd. A bare ext4 file system; the kernel and initrd
 * are kept beside it for libvirt's direct kernel boot (there is no boot loader).
 */
async function makeBootable(): Promise<string | undefined> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'plain-debian-boot-'));
  try {
    const deb = await sh('debootstrap', [
      '--variant=minbase',
      '--include=systemd-sysv,udev,dbus,linux-image-cloud-amd64,initramfs-tools',
      'bookworm',
      root,
      'http://deb.debian.org/debian',
    ]);
    if (deb.code !== 0) return `debootstrap failed: ${deb.stderr.slice(-2000)}`;
    fs.mkdirSync(path.join(root, 'etc/systemd/network'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/systemd/network/80-dhcp.network'), '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n');
    fs.writeFileSync(path.join(root, 'etc/hostname'), 'plain\n');
    const enable = await sh('systemctl', [`--root=${root}`, 'enable', 'systemd-networkd.service', 'systemd-networkd-wait-online.service']);
    if (enable.code !== 0) return `systemctl enable failed: ${enable.stderr}`;
    const boot = fs.readdirSync(path.join(root, 'boot'));
    const kernel = boot.find((f) => f.startsWith('vmlinuz-'));
    const initrd = boot.find((f) => f.startsWith('initrd.img-'));
    if (kernel === undefined || initrd === undefined) return `no kernel or initrd in the debootstrap's /boot: ${boot.join(' ')}`;
    fs.copyFileSync(path.join(root, 'boot', kernel), BOOTABLE.replace(/\.raw$/, '.vmlinuz'));
    fs.copyFileSync(path.join(root, 'boot', initrd), BOOTABLE.replace(/\.raw$/, '.initrd'));
    const mk = await sh('mkfs.ext4', ['-q', '-F', '-L', 'plain-root', '-d', root, `${BOOTABLE}.tmp`, '2048M']);
    if (mk.code !== 0) throw new Error(`mkfs.ext4 failed: ${mk.stderr}`);
    fs.renameSync(`${BOOTABLE}.tmp`, BOOTABLE);
    return undefined;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

afterAll(() => {
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

test(
  'bake puts the agent into a copy of a plain Debian image, it runs there, and baking again changes nothing',
  async () => {
    if (skipReason !== undefined) return;
    const before = sha(PLAIN);
    const copy = path.join(dir, 'baked.raw');
    const config = path.join(dir, 'agent.json');
    fs.writeFileSync(config, JSON.stringify({ collector: '10.0.2.2:50051', profile: 'smoke' }));
    let t = Date.now();
    const first = await sh(process.execPath, [LAB_CLI, 'bake', PLAIN, '--out', copy, '--agent-config', config, '--json']);
    const firstSeconds = (Date.now() - t) / 1000;
    if (first.code !== 0) throw new Error(`bake exited ${first.code}: ${first.stderr}`);
    const r1 = JSON.parse(first.stdout) as { changed: boolean; report: string[]; format: string };
    expect(r1.format).toBe('raw');
    expect(r1.changed).toBe(true);
    expect(r1.report.join('\n')).toMatch(/installed\s+\/usr\/local\/bin\/node/);
    expect(sha(PLAIN)).toBe(before);

    // what is in the image now, read without booting it
    // (one appliance boot: each costs a minute or more under emulation); the agent runs inside the
    // image, on the image's own libraries
    const ls = await sh('guestfish', [
      '--format=raw',
      '-a',
      copy,
      '-i',
      'sh',
      'ls -l /usr/local/bin/node /opt/guestbench/guestbench-agent.js /usr/local/bin/guestbench-agent; readlink /etc/systemd/system/multi-user.target.wants/guestbench-agent.service; cat /etc/guestbench/agent.json; /usr/local/bin/guestbench-agent list --json',
    ]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('/opt/guestbench/guestbench-agent.js');
    expect(ls.stdout).toContain('/etc/systemd/system/guestbench-agent.service');
    expect(ls.stdout).toMatch(/"collector":\s*"10\.0\.2\.2:50051"/);
    expect(ls.stdout).toMatch(/"cpu\./);

    t = Date.now();
    const second = await sh(process.execPath, [LAB_CLI, 'bake', copy, '--agent-config', config, '--json']);
    const secondSeconds = (Date.now() - t) / 1000;
    if (second.code !== 0) throw new Error(`second bake exited ${second.code}: ${second.stderr}`);
    const r2 = JSON.parse(second.stdout) as { changed: boolean; report: string[] };
    expect(r2.changed).toBe(false);
    expect(r2.report.filter((l) => /^install-agent: (installed|mode|linked)/.test(l))).toEqual([]);
    console.log(`bake: first ${firstSeconds.toFixed(0)} s, again ${secondSeconds.toFixed(0)} s`);
  },
  40 * 60_000,
);

test('bake refuses what it cannot bake, and says why', async () => {
  if (skipReason !== undefined) return;
  const missing = await sh(process.execPath, [LAB_CLI, 'bake', path.join(dir, 'nope.qcow2')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/image .*nope\.qcow2 does not exist/);
  const same = await sh(process.execPath, [LAB_CLI, 'bake', PLAIN, '--out', PLAIN]);
  expect(same.code).toBe(2);
  expect(same.stderr).toMatch(/--out names IMAGE itself/);
  const badConfig = path.join(dir, 'bad.json');
  fs.writeFileSync(badConfig, '[1]');
  const bad = await sh(process.execPath, [LAB_CLI, 'bake', PLAIN, '--out', path.join(dir, 'x.raw'), '--agent-config', badConfig]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--agent-config .*not a JSON object/);
  expect(fs.existsSync(path.join(dir, 'x.raw'))).toBe(false);
});

test(
  'a plain Debian baked by bake boots through libvirtd and the run of its agent reaches the collector',
  async () => {
    if (skipReason !== undefined) return;
    // QEMU runs as libvirt-qemu: the copy, its kernel and initrd go where it can read them.
    const work = fs.mkdtempSync('/var/lib/libvirt/images/guestbench-lab-bake-');
    fs.chmodSync(work, 0o755);
    const h = await startHarness({ auth: 'none' });
    try {
      const copy = path.join(work, 'baked.raw');
      const baked = await sh(process.execPath, [LAB_CLI, 'bake', BOOTABLE, '--out', copy, '--json']);
      if (baked.code !== 0) throw new Error(`bake exited ${baked.code}: ${baked.stderr}`);
      const kernel = path.join(work, 'baked.vmlinuz');
      const initrd = path.join(work, 'baked.initrd');
      fs.copyFileSync(BOOTABLE.replace(/\.raw$/, '.vmlinuz'), kernel);
      fs.copyFileSync(BOOTABLE.replace(/\.raw$/, '.initrd'), initrd);
      // How the lab learns to boot an image's kernel directly: a manifest beside it, as build-image.sh writes.
      fs.writeFileSync(
        path.join(work, 'baked.manifest.json'),
        JSON.stringify({ cmdline: 'root=/dev/vda rw console=ttyS0,115200', files: { raw: copy, kernel, initrd } }),
      );
      const matrix = path.join(h.dir, 'baked.yaml');
      fs.writeFileSync(
        matrix,
        `image: ${copy}\ncollector: 10.0.2.2:${h.collector.grpcPort}\nprofile: smoke\nnative: false\nboot: kernel\nconfigurations:\n  - {disk_bus: virtio-blk}\n`,
      );
      const t = Date.now();
      const lab = await sh(process.execPath, [LAB_CLI, 'run', matrix, '--work-dir', work, '--json']);
      const result = JSON.parse(lab.stdout || '{}') as { results?: { ok: boolean; label: string; error?: string; runId?: string }[] };
      console.log(`baked plain Debian through libvirtd: ${((Date.now() - t) / 1000).toFixed(0)} s, ${JSON.stringify(result.results)}`);
      // 1 when the run itself ended failed (a benchmark missing its deadline under TCG): it still reached the collector.
      if (lab.code !== 0 && lab.code !== 1) throw new Error(`guestbench-lab exited ${lab.code}:\n${lab.stderr.slice(-6000)}`);
      const runs = await h.collector.store.listRuns();
      expect(runs).toHaveLength(1);
      expect(runs[0]!.id).toBe(result.results?.[0]?.runId);
      expect(runs[0]!.label).toBe('disk=virtio-blk');
      expect(runs[0]!.sampleCount).toBeGreaterThan(0);
      // the agent of the baked image itself, on its own kernel
      expect(runs[0]!.hostname).toBe('plain');
      expect((await h.collector.store.getAgent(runs[0]!.agentId))?.platform).toBe('qemu');
    } finally {
      await h.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  },
  40 * 60_000,
);
