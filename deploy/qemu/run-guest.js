#!/usr/bin/env node
// Boots a guestbench guest image under QEMU (KVM when /dev/kvm is usable, TCG otherwise), hands
// it the collector address over SMBIOS, captures the serial console to a file, and stops the
// guest once the agent's run has ended (or a time limit passes). Usable as a CLI and from tests.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '../..');

/** Exit codes of the CLI, and `exitCode` of runGuest's result. */
const EXIT = Object.freeze({ SUCCESS: 0, RUN_FAILED: 1, USAGE: 2, TIMEOUT: 3, QEMU_FAILED: 4, INTERRUPTED: 130 });

/** The unit's last line (deploy/systemd/guestbench-agent.service, ExecStopPost). */
const RUN_ENDED = /guestbench-agent: run ended result=(\S+) exit=(\S*) status=(\S*)/;
const LOGIN_PROMPT = /\S+ login: ?$/m;

const USAGE = `Usage: node deploy/qemu/run-guest.js [options]
  --manifest FILE      image manifest from build-image.sh
                       (default: in $GUESTBENCH_IMAGE_DIR, else /var/cache/guestbench/images as
                       root, else .cache/images: where build-image.sh puts it)
  --image FILE         disk image (qcow2 or raw) instead of the manifest's qcow2
  --boot kernel|disk   kernel: QEMU loads the manifest's kernel and initrd (default);
                       disk: boot the image's own boot loader
  --collector HOST:PORT   collector address as the guest sees it; passed as SMBIOS OEM string
  --collector-port PORT   shorthand for --collector 10.0.2.2:PORT (the host's loopback under
                       QEMU user-mode networking)
  --token T, --label L, --profile P, --platform P
                       more SMBIOS OEM strings (guestbench.token=…, …)
  --fw-cfg-config FILE JSON settings handed over fw_cfg as opt/org.guestbench/config
  --record-to HOST:PORT
                       after the run, record its configuration (accelerator, machine type,
                       CPU model, disk bus and cache mode, NIC model, vCPUs, memory, host kernel
                       and QEMU version) with the collector at this gRPC address, as this host
                       reaches it; needs an operator token in GUESTBENCH_OPERATOR_TOKEN when the
                       collector checks tokens. The run is the one that appeared under the
                       guest's label while the guest ran.
  --until marker|login|poweroff
                       what ends the run: the agent's "run ended" line (default), the login
                       prompt, or the guest powering off
  --timeout SEC        give up after this long (default 600); exit code 3
  --serial-log FILE    where the serial console goes (default .cache/runs/NAME-TIME.serial.log)
  --accel auto|kvm|tcg (default auto: kvm when /dev/kvm is usable)
  --memory MIB (default 1024)   --cpus N (default min(2, host CPUs))
  --append ARGS        extra kernel command line (kernel boot only)
  --no-poweroff        do not ask the guest to power off after its run
  --echo               copy the serial console to stderr as it arrives
  --json               print the result as JSON on stdout
  -h, --help           this text
Exit codes: 0 run ended with result=success (or --until reached), 1 run ended with a failure,
2 bad arguments, 3 time limit reached, 4 QEMU failed or the guest stopped before its run ended,
130 interrupted (SIGINT/SIGTERM; QEMU is stopped too).`;

/** The same default as build-image.sh's --out. */
function defaultImageDir() {
  if (process.env.GUESTBENCH_IMAGE_DIR) return process.env.GUESTBENCH_IMAGE_DIR;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/cache/guestbench/images';
  return path.join(repo, '.cache/images');
}

class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

function parseArguments(argv) {
  const o = {
    manifest: path.join(defaultImageDir(), 'guestbench-debian12.manifest.json'),
    image: undefined,
    boot: 'kernel',
    oemStrings: [],
    fwCfgConfig: undefined,
    recordTo: undefined,
    until: 'marker',
    timeoutSeconds: 600,
    serialLog: undefined,
    accel: 'auto',
    memoryMib: 1024,
    cpus: Math.min(2, os.availableParallelism ? os.availableParallelism() : os.cpus().length),
    append: '',
    poweroff: true,
    echo: false,
    json: false,
    help: false,
  };
  const settings = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    const integer = (min) => {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${arg} must be a whole number >= ${min}, got "${v}"`);
      return Number(v);
    };
    switch (arg) {
      case '--manifest':
        o.manifest = path.resolve(value());
        break;
      case '--image':
        o.image = path.resolve(value());
        break;
      case '--boot':
        o.boot = oneOf(arg, value(), ['kernel', 'disk']);
        break;
      case '--collector':
        settings.collector = value();
        break;
      case '--collector-port':
        settings.collector = `10.0.2.2:${integer(1)}`;
        break;
      case '--token':
        settings.token = value();
        break;
      case '--label':
        settings.label = value();
        break;
      case '--profile':
        settings.profile = value();
        break;
      case '--platform':
        settings.platform = value();
        break;
      case '--fw-cfg-config':
        o.fwCfgConfig = path.resolve(value());
        break;
      case '--record-to':
        o.recordTo = value();
        break;
      case '--until':
        o.until = oneOf(arg, value(), ['marker', 'login', 'poweroff']);
        break;
      case '--timeout':
        o.timeoutSeconds = integer(1);
        break;
      case '--serial-log':
        o.serialLog = path.resolve(value());
        break;
      case '--accel':
        o.accel = oneOf(arg, value(), ['auto', 'kvm', 'tcg']);
        break;
      case '--memory':
        o.memoryMib = integer(128);
        break;
      case '--cpus':
        o.cpus = integer(1);
        break;
      case '--append':
        o.append = value();
        break;
      case '--no-poweroff':
        o.poweroff = false;
        break;
      case '--echo':
        o.echo = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '-h':
      case '--help':
        o.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${arg}`);
    }
  }
  if (settings.collector !== undefined && !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(settings.collector)) {
    throw new UsageError(`--collector must be HOST:PORT, got "${settings.collector}"`);
  }
  if (o.recordTo !== undefined && !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(o.recordTo)) {
    throw new UsageError(`--record-to must be HOST:PORT, got "${o.recordTo}"`);
  }
  o.label = settings.label ?? '';
  for (const key of ['collector', 'token', 'label', 'profile', 'platform']) {
    if (settings[key] !== undefined) o.oemStrings.push(`guestbench.${key}=${settings[key]}`);
  }
  return o;
}

function oneOf(flag, v, allowed) {
  if (!allowed.includes(v)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v;
}

/**
 * Why KVM cannot be used here, or undefined when it can. /dev/kvm existing is not enough:
 * containers often cannot open it, and some cloud VMs expose a /dev/kvm backed by PVM
 * (kvm_pvm), which only runs PVM-enabled guest kernels; ordinary kernels hang or QEMU aborts.
 * Hardware virtualization shows as the kvm_intel or kvm_amd module.
 */
function kvmUnusableReason() {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
  } catch (err) {
    return `/dev/kvm: ${err.code ?? err.message}`;
  }
  if (!fs.existsSync('/sys/module/kvm_intel') && !fs.existsSync('/sys/module/kvm_amd')) {
    const pvm = fs.existsSync('/sys/module/kvm_pvm') ? ' (kvm_pvm is loaded: PVM runs only PVM-enabled guest kernels)' : '';
    return `/dev/kvm is not backed by kvm_intel or kvm_amd${pvm}`;
  }
  return undefined;
}

/** QEMU's option syntax doubles commas inside a value. */
const qemuValue = (s) => s.replace(/,/g, ',,');

/** Works out the QEMU command line; pure apart from reading the manifest. */
function qemuCommand(o) {
  let manifest;
  if (o.boot === 'kernel' || o.image === undefined) {
    try {
      manifest = JSON.parse(fs.readFileSync(o.manifest, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read the image manifest ${o.manifest} (${err.code ?? err.message}); build the image with deploy/image/build-image.sh`);
    }
  }
  const image = o.image ?? manifest.files.qcow2;
  if (!fs.existsSync(image)) throw new UsageError(`image ${image} does not exist`);
  const format = image.endsWith('.qcow2') ? 'qcow2' : 'raw';
  const noKvm = o.accel === 'auto' ? kvmUnusableReason() : undefined;
  const accel = o.accel === 'auto' ? (noKvm === undefined ? 'kvm' : 'tcg') : o.accel;
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-vga',
    'none',
    // A guest that reboots (panic, watchdog) ends the run instead of starting over.
    '-no-reboot',
    '-machine',
    'q35',
    '-accel',
    accel,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-m',
    String(o.memoryMib),
    '-smp',
    String(o.cpus),
    // The run never writes to the cached image: changes go to a throw-away overlay.
    '-drive',
    `file=${qemuValue(image)},if=virtio,format=${format},snapshot=on`,
    // No PXE ROM: nothing boots from the network, and loading it costs time under TCG.
    '-netdev',
    'user,id=net0',
    '-device',
    'virtio-net-pci,netdev=net0,romfile=',
    '-device',
    'virtio-rng-pci',
    '-chardev',
    'stdio,id=serial0,signal=off',
    '-serial',
    'chardev:serial0',
  ];
  for (const s of o.oemStrings) args.push('-smbios', `type=11,value=${qemuValue(s)}`);
  if (o.fwCfgConfig !== undefined) args.push('-fw_cfg', `name=opt/org.guestbench/config,file=${qemuValue(o.fwCfgConfig)}`);
  if (o.poweroff) args.push('-fw_cfg', 'name=opt/org.guestbench/poweroff,string=1');
  if (o.boot === 'kernel') {
    const cmdline = [manifest.cmdline, o.poweroff ? 'guestbench.poweroff' : '', o.append].filter(Boolean).join(' ');
    args.push('-kernel', manifest.files.kernel, '-initrd', manifest.files.initrd, '-append', cmdline);
  }
  // What the lab calls these settings (lab/src/matrix/axes.ts), recorded with the run by --record-to.
  const configuration = {
    machine: 'q35',
    cpu_model: accel === 'kvm' ? 'host-passthrough' : 'maximum',
    disk_bus: 'virtio-blk',
    // -drive without cache= is QEMU's default, writeback.
    disk_cache: 'writeback',
    nic: 'virtio',
    vcpus: String(o.cpus),
    memory: String(o.memoryMib),
  };
  return {
    file: 'qemu-system-x86_64',
    args,
    accel,
    whyNotKvm: noKvm,
    image,
    configuration,
    name: manifest?.name ?? path.basename(image).replace(/\.[^.]+$/, ''),
  };
}

/**
 * Boots the guest and resolves once it is over, never rejecting for guest trouble:
 * `{ exitCode, reason, accel, serialLog, run?, timings, command }`. Times are seconds since
 * QEMU was started. `signal` (an AbortSignal) stops QEMU early: a test's cleanup uses it.
 */
async function runGuest(options, { onLine, signal } = {}) {
  const cmd = qemuCommand(options);
  const recorder = options.recordTo === undefined ? undefined : await configurationRecorder(options.recordTo, options.label ?? '');
  const serialLog = options.serialLog ?? path.join(repo, '.cache/runs', `${cmd.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.serial.log`);
  fs.mkdirSync(path.dirname(serialLog), { recursive: true });
  const log = fs.createWriteStream(serialLog);
  const started = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - started) / 1e9;
  const timings = {};
  const mark = (name) => {
    if (timings[name] === undefined) timings[name] = Math.round(since() * 10) / 10;
  };

  const qemu = spawn(cmd.file, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let pending = '';
  let ended; // { result, exit, status, line }
  let outcome; // { exitCode, reason } once decided
  let stopTimer;
  let killSent = false;

  const terminate = () => {
    killSent = true;
    qemu.kill('SIGTERM');
    stopTimer = setTimeout(() => qemu.kill('SIGKILL'), 5000);
  };
  const stop = (exitCode, reason, graceSeconds) => {
    if (outcome !== undefined) return;
    outcome = { exitCode, reason };
    // Give the guest a moment to power itself off; then end QEMU (the disk is a snapshot).
    stopTimer = setTimeout(terminate, graceSeconds * 1000);
  };

  const onText = (text) => {
    for (const raw of text.split('\n')) {
      const line = raw.replace(/\r/g, '');
      if (onLine) onLine(line);
      const m = RUN_ENDED.exec(line);
      if (m && ended === undefined) {
        mark('runEnded');
        ended = { result: m[1], exit: m[2], status: m[3], line: line.trim() };
        if (options.until === 'marker') {
          stop(m[1] === 'success' ? EXIT.SUCCESS : EXIT.RUN_FAILED, `run ended result=${m[1]}`, options.poweroff ? 30 : 0);
        }
      }
    }
  };

  qemu.stdout.on('data', (chunk) => {
    mark('firstOutput');
    log.write(chunk);
    if (options.echo) process.stderr.write(chunk);
    pending += chunk.toString('utf8');
    if (timings.login === undefined && LOGIN_PROMPT.test(pending)) {
      mark('login');
      if (options.until === 'login') stop(EXIT.SUCCESS, 'login prompt', 0);
    }
    const lastNewline = pending.lastIndexOf('\n');
    if (lastNewline >= 0) {
      onText(pending.slice(0, lastNewline));
      pending = pending.slice(lastNewline + 1);
    }
  });
  qemu.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });

  // Interrupting wins over everything, also over a guest given time to power off.
  const onAbort = () => {
    outcome = { exitCode: EXIT.INTERRUPTED, reason: 'interrupted' };
    clearTimeout(stopTimer);
    terminate();
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });

  const timeout = setTimeout(() => {
    stop(EXIT.TIMEOUT, `time limit of ${options.timeoutSeconds} s reached${timings.login === undefined ? ' before the login prompt' : ''}`, 0);
  }, options.timeoutSeconds * 1000);

  const exit = await new Promise((resolve) => {
    qemu.on('error', (err) => resolve({ code: null, signal: null, error: err }));
    qemu.on('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  clearTimeout(timeout);
  clearTimeout(stopTimer);
  signal?.removeEventListener('abort', onAbort);
  if (pending !== '') onText(pending);
  await new Promise((resolve) => log.end(resolve));
  mark('qemuExited');

  if (outcome === undefined) {
    if (exit.error) {
      outcome = {
        exitCode: EXIT.QEMU_FAILED,
        reason: `cannot start ${cmd.file}: ${exit.error.message} (deploy/scripts/ensure-packages.sh --for run installs it)`,
      };
    } else if (options.until === 'poweroff' && exit.code === 0) {
      outcome = { exitCode: ended && ended.result !== 'success' ? EXIT.RUN_FAILED : EXIT.SUCCESS, reason: 'guest powered off' };
    } else if (ended !== undefined) {
      outcome = { exitCode: ended.result === 'success' ? EXIT.SUCCESS : EXIT.RUN_FAILED, reason: `run ended result=${ended.result}` };
    } else {
      const last = stderr.trim().split('\n').slice(-3).join(' | ');
      outcome = { exitCode: EXIT.QEMU_FAILED, reason: `QEMU exited (code ${exit.code}, signal ${exit.signal}) before the run ended${last ? `: ${last}` : ''}` };
    }
  }
  const configuration = recorder === undefined ? undefined : await recorder.record(cmd);
  return {
    exitCode: outcome.exitCode,
    reason: outcome.reason,
    configuration,
    accel: cmd.accel,
    whyNotKvm: cmd.whyNotKvm,
    image: cmd.image,
    serialLog,
    run: ended,
    guestPoweredOff: !killSent && exit.code === 0,
    timings,
    command: [cmd.file, ...cmd.args],
  };
}

/**
 * Records the configuration of the run a guest makes: the runs under its label are noted before
 * QEMU starts, and the new one afterwards gets the configuration (RecordRunConfiguration, an
 * operator call). Never fails the guest's run: the outcome is in the result.
 */
async function configurationRecorder(address, label) {
  const grpc = require('@grpc/grpc-js');
  const { JobServiceClient, QueryServiceClient } = require('@guestbench/proto');
  const metadata = new grpc.Metadata();
  const token = process.env.GUESTBENCH_OPERATOR_TOKEN;
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const call = (client, method, req) =>
    new Promise((resolve, reject) => {
      client[method](req, metadata, { deadline: new Date(Date.now() + 15000) }, (err, res) =>
        err ? reject(new Error(`${method} at ${address}: ${err.details || err.message}`)) : resolve(res),
      );
    });
  const query = new QueryServiceClient(address, grpc.credentials.createInsecure());
  const jobs = new JobServiceClient(address, grpc.credentials.createInsecure());
  const list = async () => (await call(query, 'listRuns', { platform: '', label, hostname: '', limit: 1000 })).runs;
  let before;
  let early;
  try {
    before = new Set((await list()).map((r) => r.id));
  } catch (err) {
    early = err.message;
  }
  return {
    async record(cmd) {
      try {
        if (early !== undefined) return { recorded: false, error: early };
        const fresh = (await list()).filter((r) => !before.has(r.id));
        if (fresh.length !== 1) return { recorded: false, error: `${fresh.length} new runs under label "${label}" while the guest ran; expected exactly one` };
        const run = fresh[0];
        const res = await call(jobs, 'recordRunConfiguration', {
          runId: run.id,
          settings: cmd.configuration,
          hostKernel: os.release(),
          qemuVersion: qemuVersion(),
          libvirtVersion: '',
          accelerator: cmd.accel,
        });
        return { recorded: true, runId: run.id, group: res.group, settings: cmd.configuration };
      } catch (err) {
        return { recorded: false, error: err.message };
      } finally {
        query.close();
        jobs.close();
      }
    },
  };
}

function qemuVersion() {
  const r = require('node:child_process').spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8', timeout: 10000 });
  return /version (\S+)/.exec(r.stdout ?? '')?.[1] ?? '';
}

async function main(argv) {
  let options;
  try {
    options = parseArguments(argv);
  } catch (err) {
    process.stderr.write(`run-guest: ${err.message}\n${err instanceof UsageError ? 'See --help.\n' : ''}`);
    return EXIT.USAGE;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.SUCCESS;
  }
  // Stopping the runner stops the guest: QEMU would otherwise outlive it.
  const interrupt = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => interrupt.abort());
  let result;
  try {
    result = await runGuest(options, {
      signal: interrupt.signal,
      onLine: (line) => {
        if (!options.echo && /guestbench-agent: run ended|Reached target.*Multi-User|Kernel panic|login: ?$/.test(line)) {
          process.stderr.write(`run-guest: [serial] ${line.trim()}\n`);
        }
      },
    });
  } catch (err) {
    process.stderr.write(`run-guest: ${err.message}\n`);
    return err instanceof UsageError ? EXIT.USAGE : EXIT.QEMU_FAILED;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const t = result.timings;
    process.stderr.write(
      `run-guest: ${result.reason} (exit ${result.exitCode}); ${result.accel}; login prompt ${t.login ?? '-'} s, run ended ${t.runEnded ?? '-'} s, QEMU exited ${t.qemuExited} s; serial log ${result.serialLog}\n`,
    );
    const c = result.configuration;
    if (c !== undefined)
      process.stderr.write(
        c.recorded ? `run-guest: configuration recorded for run ${c.runId} (${c.group})\n` : `run-guest: configuration NOT recorded: ${c.error}\n`,
      );
  }
  return result.exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

module.exports = { defaultImageDir, runGuest, parseArguments, qemuCommand, kvmUnusableReason, EXIT, RUN_ENDED, UsageError };
