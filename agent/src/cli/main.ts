#!/usr/bin/env node
// guestbench-agent: detect the platform, run the suite locally, or run it for a collector.
import { isMainThread } from 'node:worker_threads';
import pino from 'pino';
import { BENCHMARK_IDS, checkProfileSettings, listBenchmarks } from '../bench/registry';
import { runSuite, type MeasuredSample, type PrecisionTarget } from '../bench/runner';
import { parseTrialFault, TRIAL_FAULT_ENV, type TrialFault } from '../bench/trial-fault';
import { DEFAULT_PRECISION_BUDGET_SECONDS } from '../profiles/profile';
import { detectPlatform } from '../detect/detect-platform';
import { formatDetection } from '../detect/format-detection';
import { collectInventory } from '../detect/inventory';
import { formatHostPort, parseHostPort, runCommandLine, UsageError, type CommandLineProgram, type HelpOrVersion } from '@guestbench/proto';
import { serveNet } from '../net/serve-net';
import { startSinkChild, type SinkChild } from '../net/sink-child';
import { isProfileError, loadProfile, PROFILE_NAMES, type Profile } from '../profiles/profile';
import { applySelection, type Selection } from '../profiles/selection';
import { createProgress } from '../output/progress';
import { formatSamplesTable } from '../output/samples-table';
import { localAgentId } from '../report/agent-identity';
import { CollectorClient, isCollectorError, isRefusal } from '../report/collector-client';
import { runDaemon } from '../report/daemon';
import { LogForwarder } from '../report/log-forwarder';
import { Enrollment, enrollRequest } from '../report/enrollment';
import { reportRun, reportThreadFailed } from '../report/report-run';
import { ReportThread } from '../report/report-thread';
import { describeCollectorFailure, reachCollector } from '../report/collector-check';
import { bootToAgentOutcome, readUptimeSeconds } from '../bench/boot/boot-to-agent';
import { deliverLeftovers } from '../report/deliver';
import { defaultStateDir, Spool } from '../report/spool';
import { configToJson, formatResolvedConfig, isConfigError, resolveAgentConfig } from '../config';
import type { ClientTls } from '../report/collector-client';
import fs from 'node:fs';
import { serveWeb } from '../web/serve-web';
import { load } from '../load/load-command';
import { agentCommandHelp, COMMANDS, parseArguments, USAGE, versionText, type Command } from './parse-arguments';

const DEFAULT_PROFILE = 'smoke';

/** Seconds since kernel start when this agent process came up: boot.to_agent for runs soon after boot. */
const READY_UPTIME = readUptimeSeconds();

function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

/**
 * For bench without --net-target: a serve-net child on 127.0.0.1, when the profile has network
 * benchmarks. A child, so the sink does not share this process's one JavaScript thread.
 */
async function localSink(cmd: Extract<Command, { kind: 'bench' }>, profile: Profile): Promise<SinkChild | undefined> {
  const entry = process.argv[1];
  if (cmd.netTarget !== undefined || entry === undefined || !profile.benchmarks.some((id) => id.startsWith('net.'))) return undefined;
  try {
    return await startSinkChild(entry);
  } catch (err: unknown) {
    process.stderr.write(`guestbench-agent: ${(err as Error).message}; the network benchmarks use a sink inside this process instead\n`);
    return undefined;
  }
}

/** The profile by name or file, narrowed and changed by --only/--skip/--set, every setting checked. */
function chooseProfile(name: string, selection: Selection): Profile {
  const profile = applySelection(loadProfile(name, listBenchmarks()), selection, BENCHMARK_IDS);
  checkProfileSettings(profile);
  return profile;
}

/** Flags over the profile: the precision target of bench and run, or none. */
function precisionTarget(cmd: { precision: number | undefined; precisionBudgetSeconds: number | undefined }, profile: Profile): PrecisionTarget | undefined {
  const halfWidth = cmd.precision ?? profile.precision;
  if (halfWidth === undefined) {
    if (cmd.precisionBudgetSeconds !== undefined)
      throw new UsageError(`--precision-budget: applies with --precision (profile "${profile.name}" sets no precision)`);
    return undefined;
  }
  return { halfWidth, budgetSeconds: cmd.precisionBudgetSeconds ?? profile.precisionBudgetSeconds ?? DEFAULT_PRECISION_BUDGET_SECONDS };
}

/** The test-only impossible-trial hook, from the environment; a malformed value is a usage error. */
function trialFault(): TrialFault | undefined {
  try {
    return parseTrialFault(process.env[TRIAL_FAULT_ENV], BENCHMARK_IDS);
  } catch (err: unknown) {
    throw new UsageError((err as Error).message);
  }
}

/** Exit status of bench and run: 0 all measured, 3 partial (some benchmarks failed), 1 nothing. */
export const EXIT_PARTIAL = 3;

function impreciseLine(samples: readonly MeasuredSample[], precision: PrecisionTarget | undefined): string | undefined {
  if (precision === undefined) return undefined;
  const missed = samples.filter((s) => s.primary && s.flags.includes('precision-not-reached'));
  const target = `±${(precision.halfWidth * 100).toFixed(1)}%`;
  if (missed.length === 0) return `precision ${target}: reached by every primary metric`;
  return `precision ${target}: not reached within ${precision.budgetSeconds} s by ${missed.map((s) => `${s.benchmarkId} (±${(s.halfWidth * 100).toFixed(1)}%)`).join(', ')}`;
}

/** Why samples were flagged (a kernel V8 did not optimize…), each once. */
function flagNotes(samples: readonly MeasuredSample[]): string[] {
  return [...new Set(samples.flatMap((s) => s.notes ?? []))];
}

async function bench(cmd: Extract<Command, { kind: 'bench' }>): Promise<number> {
  const profile = chooseProfile(cmd.profile ?? DEFAULT_PROFILE, cmd.selection);
  const precision = precisionTarget(cmd, profile);
  const fault = trialFault();
  const signal = interruptSignal();
  const sink = await localSink(cmd, profile);
  const netSink = cmd.netTarget ?? (sink === undefined ? undefined : formatHostPort(sink.address));
  const outcomes = await runSuite({
    profile,
    signal,
    precision,
    fault,
    onEvent: createProgress(),
    targets: { diskDir: cmd.diskDir, netSink, webTargets: cmd.webTargets, loadGenerator: cmd.loadGenerator },
  }).finally(() => sink?.close());
  const samples: MeasuredSample[] = outcomes.flatMap((o) => (o.ok ? o.samples : []));
  const failed = outcomes.flatMap((o) => (o.ok ? [] : [{ benchmarkId: o.benchmarkId, error: o.error.message }]));
  if (cmd.json) {
    process.stdout.write(`${JSON.stringify({ profile: profile.name, samples, failed }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatSamplesTable(samples)}\n`);
    for (const note of flagNotes(samples)) process.stdout.write(`note ${note}\n`);
    for (const f of failed) process.stdout.write(`FAILED ${f.benchmarkId}: ${f.error}\n`);
    const line = impreciseLine(samples, precision);
    if (line !== undefined) process.stdout.write(`${line}\n`);
  }
  return failed.length === 0 ? 0 : samples.length > 0 ? EXIT_PARTIAL : 1;
}

/** Settings of run, daemon and flush: flags, environment, config file, hypervisor channels (docs/architecture.md, "Settings"). */
async function resolveRunSettings(
  cmd: Extract<Command, { kind: 'run' | 'daemon' | 'flush' }>,
): Promise<{ collector: string; token: string | undefined; label: string; declared: string; profileName: string }> {
  const config = await resolveAgentConfig({
    flags: { collector: cmd.collector, token: cmd.token, label: cmd.label, platform: cmd.platform, profile: cmd.profile },
    env: process.env,
  });
  const collector = config.collector?.value.address;
  if (collector === undefined) {
    throw new UsageError(
      `${cmd.kind}: no collector found; pass --collector HOST:PORT, set GUESTBENCH_COLLECTOR, write /etc/guestbench/agent.json, ` +
        'or pass it from the hypervisor (SMBIOS guestbench.collector=…); `guestbench-agent config --show` tells what was seen',
    );
  }
  return {
    collector,
    token: config.token?.value,
    label: config.label?.value ?? '',
    declared: config.platform?.value ?? 'auto',
    profileName: config.profile?.value ?? DEFAULT_PROFILE,
  };
}

function readPem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err: unknown) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

function clientTls(cmd: Extract<Command, { kind: 'run' | 'daemon' | 'flush' }>): ClientTls | undefined {
  if (cmd.tls === undefined) return undefined;
  return {
    ca: readPem(cmd.tls.ca, '--ca'),
    ...(cmd.tls.cert !== undefined && cmd.tls.key !== undefined ? { cert: readPem(cmd.tls.cert, '--cert'), key: readPem(cmd.tls.key, '--key') } : {}),
  };
}

/** JSON log lines to stderr (the journal in a guest) and, forwarded, to the collector. */
function agentLogger(forwarder: LogForwarder): pino.Logger {
  return pino(
    { name: 'guestbench-agent', base: { pid: process.pid } },
    pino.multistream([{ stream: pino.destination({ dest: 2, sync: true }) }, { stream: forwarder }]),
  );
}

async function run(cmd: Extract<Command, { kind: 'run' | 'daemon' | 'flush' }>): Promise<number> {
  const settings = await resolveRunSettings(cmd);
  const profile = chooseProfile(settings.profileName, cmd.selection);
  const agentId = cmd.agentId ?? localAgentId();
  const forwarder = new LogForwarder(agentId);
  const logger = agentLogger(forwarder);
  const client = new CollectorClient(settings.collector, {
    token: settings.token,
    tls: clientTls(cmd),
    onFailover: (e) =>
      logger.warn({ event: 'collector-failover', from: e.from, to: e.to, reason: e.reason }, 'collector not answering; moving to the next address'),
  });
  forwarder.attach(client);
  const spool = new Spool(cmd.stateDir ?? defaultStateDir());
  if (cmd.kind === 'flush') {
    try {
      const delivered = await deliverLeftovers(client, spool, logger);
      const left = spool.runs().length;
      if (cmd.json) process.stdout.write(`${JSON.stringify({ delivered, runsLeft: left, spool: spool.dir })}\n`);
      else process.stdout.write(`delivered ${delivered} spooled samples to ${client.address}; ${left} run(s) left in ${spool.dir}\n`);
      return left === 0 ? 0 : 1;
    } finally {
      await forwarder.flush();
      client.close();
    }
  }
  const stop = interruptSignal();
  // Started now, so that it has loaded by the time a run starts (see ReportThread).
  const reportThread = new ReportThread({ client, onError: reportThreadFailed(logger) });
  const [detection, inventory] = await Promise.all([detectPlatform(), collectInventory()]);
  const declaredPlatform = settings.declared === 'auto' ? '' : settings.declared;
  const common = {
    client,
    agentId,
    label: settings.label,
    declaredPlatform,
    detection,
    inventory,
    logger,
    reportThread,
    enrollment: new Enrollment(client, enrollRequest({ agentId, declaredPlatform, detection, inventory }), logger),
    spool,
    signal: stop,
    targets: { diskDir: cmd.diskDir, netSink: cmd.netTarget, webTargets: cmd.webTargets, loadGenerator: cmd.loadGenerator },
  };
  try {
    if (cmd.kind === 'daemon') return await runDaemon({ ...common, readyUptime: READY_UPTIME });
    // Is the collector there and does it take us? Unless --offline, find out before the
    // suite runs, not after it: a run nobody receives is minutes lost.
    if (!cmd.offline) {
      try {
        await reachCollector((opts) => common.enrollment.renew(opts));
      } catch (err: unknown) {
        process.stderr.write(
          `guestbench-agent: run: ${describeCollectorFailure(err, settings.collector, cmd.tls !== undefined)}; nothing ran (--offline runs now and delivers later)\n`,
        );
        return 1;
      }
    }
    // What an earlier, interrupted agent left in the spool goes first.
    await deliverLeftovers(client, spool, logger).catch((err: unknown) => {
      if (isRefusal(err)) throw err;
      logger.warn({ event: 'spool-not-delivered', err }, 'spooled runs not delivered yet');
    });
    const boot = bootToAgentOutcome(READY_UPTIME, readUptimeSeconds(), inventory.clocksource);
    const measured: MeasuredSample[] = [];
    const progress = createProgress();
    const precision = precisionTarget(cmd, profile);
    const result = await reportRun({
      ...common,
      profile,
      precision,
      fault: trialFault(),
      deliverTimeoutMs: cmd.deliverTimeoutSeconds * 1000,
      extraOutcomes: boot === undefined ? [] : [boot],
      onEvent: (event) => {
        progress(event);
        if (event.type === 'benchmark-end' && event.outcome.ok) measured.push(...event.outcome.samples);
      },
    });
    if (cmd.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      if (measured.length > 0) process.stdout.write(`${formatSamplesTable(measured)}\n`);
      for (const note of flagNotes(measured)) process.stdout.write(`note ${note}\n`);
      process.stdout.write(
        `run ${result.runId} ${result.status}: ${result.acked}/${result.samples} samples acknowledged by ${client.address} (profile ${profile.name})\n`,
      );
      for (const f of result.failedBenchmarks) process.stdout.write(`FAILED ${f.benchmarkId}: ${f.reason}\n`);
      if (precision !== undefined) {
        const target = `±${(precision.halfWidth * 100).toFixed(1)}%`;
        process.stdout.write(
          result.imprecise.length === 0
            ? `precision ${target}: reached by every primary metric\n`
            : `precision ${target}: not reached within ${precision.budgetSeconds} s by ${result.imprecise.join(', ')} (samples flagged precision-not-reached)\n`,
        );
      }
    }
    const everythingDelivered = result.delivered && result.unacked.length === 0 && result.samples > 0;
    if (!everythingDelivered) return 1;
    return result.status === 'completed' ? 0 : result.status === 'partial' ? EXIT_PARTIAL : 1;
  } finally {
    // When stopped (SIGTERM), one quick try: a stopping agent must not wait on its collector.
    await reportThread.stop();
    await forwarder.flush(stop.aborted ? { attempts: 1, deadlineMs: 1000 } : undefined);
    client.close();
  }
}

type AgentCommand = Exclude<Command, HelpOrVersion>;

async function execute(cmd: AgentCommand): Promise<number> {
  switch (cmd.kind) {
    case 'list': {
      const list = listBenchmarks().map((b) => ({ id: b.id, description: b.description, metrics: b.metrics, profiles: b.profiles }));
      if (cmd.json) process.stdout.write(`${JSON.stringify({ benchmarks: list, profiles: PROFILE_NAMES }, null, 2)}\n`);
      else {
        for (const b of list) process.stdout.write(`${b.id.padEnd(20)} ${b.description}\n`);
        process.stdout.write(`\nprofiles: ${PROFILE_NAMES.join(', ')}\n`);
      }
      return 0;
    }
    case 'detect': {
      const detection = await detectPlatform({ root: cmd.root });
      process.stdout.write(cmd.json ? `${JSON.stringify(detection, null, 2)}\n` : `${formatDetection(detection).join('\n')}\n`);
      return 0;
    }
    case 'bench':
      return bench(cmd);
    case 'serve-web':
    case 'serve-web-help':
    case 'write-site':
      return serveWeb(cmd);
    case 'load':
    case 'load-help':
      return load(cmd, process.stdout, process.stderr, interruptSignal());
    case 'serve-net': {
      const listen = parseHostPort(cmd.listen, { allowZero: true });
      await serveNet({ listen: listen.ok ? listen.value : { host: '127.0.0.1', port: 0 }, json: cmd.json, signal: interruptSignal() });
      return 0;
    }
    case 'run':
    case 'daemon':
    case 'flush':
      return run(cmd);
    case 'config': {
      const config = await resolveAgentConfig({
        flags: { collector: cmd.collector, token: cmd.token, label: cmd.label, platform: cmd.platform, profile: cmd.profile },
        env: process.env,
      });
      process.stdout.write(cmd.json ? `${JSON.stringify(configToJson(config), null, 2)}\n` : `${formatResolvedConfig(config)}\n`);
      return 0;
    }
  }
}

// The bundle is also the script of the load generator's worker threads (load/worker-entry.ts
// runs there); only the main thread is the CLI.
if (isMainThread) {
  const program: CommandLineProgram<AgentCommand> = {
    name: 'guestbench-agent',
    commands: COMMANDS,
    parse: parseArguments,
    usage: USAGE,
    commandHelp: agentCommandHelp,
    versionText,
    execute,
    isExpectedFailure: (err) => isProfileError(err) || isCollectorError(err) || isConfigError(err),
  };
  void runCommandLine(program, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
