// guestbench-lab bake: puts the agent into an existing disk image (qcow2, raw or VMDK) with
// libguestfs (guestfish), mounting nothing on the host. The image's own install-agent.sh run does the work
// inside the libguestfs appliance, so the result is what installing in the guest would give, and
// running bake again changes nothing.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { run } from '../libvirt/virsh';

export interface BakeOptions {
  readonly image: string;
  /** Bake a copy here instead of IMAGE itself. */
  readonly out?: string;
  /** /etc/guestbench/agent.json to put in (collector, token, label, platform, profile). */
  readonly agentConfig?: string;
  /** The repository: deploy/install-agent.sh, the systemd unit, the agent bundle. */
  readonly repo: string;
  /** A node >= 20 for the guest, used only when the image has none. @default this process's node */
  readonly nodeBinary?: string;
  readonly log: (line: string) => void;
}

export interface BakeResult {
  readonly image: string;
  readonly format: string;
  /** install-agent.sh's report from inside the image: what it installed, or that nothing changed. */
  readonly report: readonly string[];
  readonly changed: boolean;
  readonly seconds: number;
}

export class BakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BakeError';
  }
}

/** The script run inside the image: node from the image when it has one >= 20, else ours. */
const IN_IMAGE = `#!/bin/sh
set -eu
d=/var/tmp/guestbench-bake
node_flag=""
have=""
for n in /usr/local/bin/node /usr/bin/node; do
  if [ -x "$n" ]; then
    major=$("$n" --version 2>/dev/null | sed -n 's/^v\\([0-9]*\\)\\..*/\\1/p')
    if [ -n "$major" ] && [ "$major" -ge 20 ]; then have="$n"; break; fi
  fi
done
if [ -z "$have" ]; then node_flag="--node-binary $d/node"; fi
bash $d/install-agent.sh --root / --bundle $d/guestbench-agent.js $node_flag > $d/report.txt 2>&1 || { cat $d/report.txt >&2; exit 1; }
if [ -f $d/agent.json ]; then
  mkdir -p /etc/guestbench
  if ! cmp -s $d/agent.json /etc/guestbench/agent.json; then cp $d/agent.json /etc/guestbench/agent.json; chmod 0600 /etc/guestbench/agent.json; echo "install-agent: installed /etc/guestbench/agent.json" >> $d/report.txt; fi
fi
`;

export async function bakeImage(o: BakeOptions): Promise<BakeResult> {
  const started = Date.now();
  const source = resolve(o.image);
  if (!existsSync(source)) throw new BakeError(`image ${source} does not exist`);
  const info = await run('qemu-img', ['info', '--output=json', source]);
  if (info.code !== 0) throw new BakeError(`qemu-img info ${source}: ${info.stderr.trim()}`);
  const format = (JSON.parse(info.stdout) as { format: string }).format;
  if (!['qcow2', 'raw', 'vmdk'].includes(format)) throw new BakeError(`${source} is a ${format} image; bake takes qcow2, raw or VMDK`);
  for (const tool of ['guestfish']) {
    if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0)
      throw new BakeError(
        `${tool} is not installed: bash scripts/ensure-libvirt.sh --with-guestfs (as root) installs guestfs-tools and a kernel for its appliance`,
      );
  }
  const bundle = join(o.repo, 'agent', 'dist', 'bundle', 'guestbench-agent.js');
  if (!existsSync(bundle)) {
    o.log('bundling the agent (node scripts/bundle-agent.js)');
    const b = await run(process.execPath, [join(o.repo, 'scripts', 'bundle-agent.js')], 600_000);
    if (b.code !== 0) throw new BakeError(`bundling the agent failed: ${b.stderr.trim().slice(-1000)} (npm run build first)`);
  }
  if (o.agentConfig !== undefined) {
    try {
      const parsed = JSON.parse(await readFile(o.agentConfig, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    } catch (err: unknown) {
      throw new BakeError(`--agent-config ${o.agentConfig}: ${(err as Error).message}; give the JSON of /etc/guestbench/agent.json`);
    }
  }

  let target = source;
  if (o.out !== undefined) {
    target = resolve(o.out);
    if (target === source) throw new BakeError('--out names IMAGE itself; leave --out away to bake IMAGE in place');
    o.log(`copying ${source} to ${target}`);
    // cp keeps a raw image sparse (and reflinks where the file system can).
    const cp = await run('cp', ['--sparse=always', '--reflink=auto', source, target], 30 * 60_000);
    if (cp.code !== 0) throw new BakeError(`cannot copy ${source} to ${target}: ${cp.stderr.trim()}`);
  }

  const stage = await mkdtemp(join(tmpdir(), 'guestbench-bake-'));
  try {
    const dir = join(stage, 'guestbench-bake');
    await mkdir(dir);
    await copyFile(join(o.repo, 'deploy', 'install-agent.sh'), join(dir, 'install-agent.sh'));
    // install-agent.sh looks for the unit beside itself, as in the repository's deploy/.
    await mkdir(join(dir, 'systemd'));
    await copyFile(join(o.repo, 'deploy', 'systemd', 'guestbench-agent.service'), join(dir, 'systemd', 'guestbench-agent.service'));
    await copyFile(bundle, join(dir, 'guestbench-agent.js'));
    await copyFile(o.nodeBinary ?? process.execPath, join(dir, 'node'));
    if (o.agentConfig !== undefined) await copyFile(o.agentConfig, join(dir, 'agent.json'));
    await writeFile(join(dir, 'bake.sh'), IN_IMAGE, { mode: 0o755 });

    // One libguestfs appliance boot for everything (under emulation each boot costs a minute or
    // more): copy the files in, run install-agent.sh in the image's root, print its report,
    // remove the files.
    o.log(`guestfish on ${basename(target)} (${format}); under emulation this takes a minute or more`);
    const env = { ...process.env, LIBGUESTFS_BACKEND: process.env['LIBGUESTFS_BACKEND'] ?? 'direct' };
    const gf = await runWithEnv(
      'guestfish',
      [
        `--format=${format}`,
        '-a',
        target,
        '-i',
        'copy-in',
        dir,
        '/var/tmp',
        ':',
        'sh',
        'sh /var/tmp/guestbench-bake/bake.sh && cat /var/tmp/guestbench-bake/report.txt',
        ':',
        'rm-rf',
        '/var/tmp/guestbench-bake',
      ],
      env,
    );
    if (gf.code !== 0) throw new BakeError(`guestfish failed: ${gf.stderr.trim().split('\n').slice(-6).join(' | ')}`);
    const report = gf.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const changed = report.some((l) => /^install-agent: (installed|mode|linked)\b/.test(l));
    return { image: target, format, report, changed, seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

function runWithEnv(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(file, [...args], { env, timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 127, stdout, stderr });
    });
  });
}
