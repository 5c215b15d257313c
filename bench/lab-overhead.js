#!/usr/bin/env node
// bench:lab — guestbench-lab's own cost per configuration (overlay, define, start, recording the
// configuration, destroy + undefine + deleting the overlay; goal ≤ 10 s), beside the guest's boot
// and run, and the wall time of a two-configuration matrix (virtio-blk vs SATA, smoke profile,
// with its two native runs). Needs root, libvirtd (scripts/ensure-libvirt.sh) and the guest image.
'use strict';
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startCollector, table } = require('./lib/collector-process');

const LAB_CLI = path.resolve(__dirname, '..', 'lab', 'dist', 'cli', 'main.js');
const image = process.env.GUESTBENCH_LAB_IMAGE ?? path.join(process.env.GUESTBENCH_IMAGE_DIR || '/var/cache/guestbench/images', 'guestbench-debian12.qcow2');

async function main() {
  const collector = await startCollector();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-lab-'));
  // QEMU runs as libvirt-qemu and must reach the overlays: not under a 0700 temporary folder.
  const work = fs.mkdtempSync('/var/lib/libvirt/images/guestbench-bench-lab-');
  fs.chmodSync(work, 0o755);
  try {
    const port = collector.grpc.split(':')[1];
    const matrix = path.join(dir, 'matrix.yaml');
    fs.writeFileSync(matrix, `image: ${image}\ncollector: 10.0.2.2:${port}\nprofile: smoke\nseed: 7\naxes:\n  disk_bus: [virtio-blk, sata]\n`);
    const t = Date.now();
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, [LAB_CLI, 'run', matrix, '--work-dir', work, '--json'], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err && !stdout) reject(new Error(`guestbench-lab failed: ${stderr.slice(-3000)}`));
        else resolve(stdout);
      });
    });
    const wall = (Date.now() - t) / 1000;
    const result = JSON.parse(out);
    const phases = ['overlay', 'define', 'start', 'boot', 'run', 'record', 'clean-up'];
    const rows = result.results.map((r) => [
      r.kind,
      r.label,
      r.ok ? 'ok' : 'FAILED',
      ...phases.map((p) => (r.phases[p] === undefined ? '-' : r.phases[p].toFixed(1))),
      r.overheadSeconds === undefined ? '-' : r.overheadSeconds.toFixed(1),
      r.seconds.toFixed(1),
    ]);
    console.log(
      `guestbench-lab, ${result.accelerator} (${result.domainType}), QEMU ${result.versions.qemu}, libvirt ${result.versions.libvirt}; ${os.cpus().length} CPUs`,
    );
    console.log(table(['run', 'label', 'outcome', ...phases, 'lab overhead (goal ≤ 10)', 'total s'], rows));
    console.log(`two-configuration matrix (with 2 native runs): ${wall.toFixed(0)} s wall`);
  } finally {
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
