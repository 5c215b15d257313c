// `guestbench-agent serve-web`: the benchmark's web server as a command of its own, so that
// it runs as a separate process beside the load generator (as a real server would), can be
// loaded from elsewhere, and can write its site for Apache or nginx (deploy/web/).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { argumentErrorMessage, parseHostPort } from '@guestbench/proto';
import pino from 'pino';
import { DEFAULT_LARGE_BYTES, writeSite } from './site';
import { startWebServer } from './server';

export const SERVE_WEB_USAGE = `guestbench-agent serve-web — the web benchmark's server: /static/small, /static/large,
/cgi-bin/env and /cgi-bin/maze?size=N&seed=S (real CGI: a process per request)

Usage:
  guestbench-agent serve-web [--listen HOST:PORT] [--large-kib N] [--site DIR] [--json]
  guestbench-agent serve-web --write-site DIR [--large-kib N]

Options:
  --listen HOST:PORT  where to listen; port 0 picks a free one; default 127.0.0.1:8080
  --large-kib N       size of /static/large in KiB; default ${DEFAULT_LARGE_BYTES / 1024}
  --site DIR          serve this site folder instead of writing a fresh one to a temporary folder
  --write-site DIR    write the site (static/ and cgi-bin/) to DIR for Apache or nginx, and exit
  --json              print {"url": …} on one line once listening (for programs)

Runs until SIGINT or SIGTERM (or, when started with an IPC channel, until its parent goes away). The CGI programs are /bin/sh scripts (env, and awk for the maze);
the site folder must not be on a noexec mount: set TMPDIR or --site elsewhere if /tmp is.
`;

export type ServeWebCommand =
  | { readonly kind: 'serve-web-help' }
  | {
      readonly kind: 'serve-web';
      readonly host: string;
      readonly port: number;
      readonly largeBytes: number;
      readonly site: string | undefined;
      readonly json: boolean;
    }
  | { readonly kind: 'write-site'; readonly dir: string; readonly largeBytes: number };

export class ServeWebUsageError extends Error {
  override readonly name = 'ServeWebUsageError';
}

export function parseServeWebArguments(argv: readonly string[]): ServeWebCommand {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        listen: { type: 'string' },
        'large-kib': { type: 'string' },
        site: { type: 'string' },
        'write-site': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err: unknown) {
    throw new ServeWebUsageError(argumentErrorMessage(err, 'serve-web', ['listen', 'large-kib', 'site', 'write-site', 'json', 'help']));
  }
  if (values.help === true) return { kind: 'serve-web-help' };
  const kib = values['large-kib'] ?? String(DEFAULT_LARGE_BYTES / 1024);
  if (!/^\d{1,7}$/.test(kib) || Number(kib) < 1 || Number(kib) > 1048576) {
    throw new ServeWebUsageError(`serve-web: --large-kib must be a whole number from 1 to 1048576, got "${kib}"`);
  }
  const largeBytes = Number(kib) * 1024;
  if (values['write-site'] !== undefined) {
    if (values.listen !== undefined || values.site !== undefined)
      throw new ServeWebUsageError('serve-web: --write-site writes files and exits; it takes no --listen or --site');
    return { kind: 'write-site', dir: path.resolve(values['write-site']), largeBytes };
  }
  const listen = values.listen ?? '127.0.0.1:8080';
  const address = parseHostPort(listen, { allowZero: true });
  if (!address.ok) throw new ServeWebUsageError(`serve-web: --listen: ${address.error}`);
  const { host, port } = address.value;
  return { kind: 'serve-web', host, port, largeBytes, site: values.site === undefined ? undefined : path.resolve(values.site), json: values.json === true };
}

/** Runs the command; resolves with the exit code once the server was stopped by a signal. */
export async function serveWeb(
  cmd: ServeWebCommand,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  if (cmd.kind === 'serve-web-help') {
    out.write(SERVE_WEB_USAGE);
    return 0;
  }
  if (cmd.kind === 'write-site') {
    const paths = writeSite(cmd.dir, { largeBytes: cmd.largeBytes });
    out.write(`serve-web: wrote ${paths.staticDir} and ${paths.cgiDir}\n`);
    return 0;
  }
  const temp = cmd.site === undefined ? mkdtempSync(path.join(tmpdir(), 'guestbench-site-')) : undefined;
  try {
    const siteDir = cmd.site ?? writeSite(temp as string, { largeBytes: cmd.largeBytes }).root;
    const log = pino({ name: 'guestbench-agent', base: { pid: process.pid, component: 'serve-web' } }, err);
    let failures = 0;
    const server = await startWebServer({
      siteDir,
      host: cmd.host,
      port: cmd.port,
      // The first failures, then one in a thousand: a failing program under load must not flood the log.
      onCgiError: (script, error) => {
        failures++;
        if (failures <= 10 || failures % 1000 === 0) log.warn({ event: 'cgi-failed', script, error, failures }, 'CGI program failed');
      },
    });
    out.write(
      cmd.json
        ? `${JSON.stringify({ url: server.url, site: siteDir })}\n`
        : `serving ${server.url} from ${siteDir} (pages: /static/small /static/large /cgi-bin/env /cgi-bin/maze?size=N&seed=S)\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      // Started by a benchmark with an IPC channel: a killed agent leaves no server behind.
      if (process.send !== undefined) process.once('disconnect', resolve);
    });
    await server.close();
    if (process.connected) process.disconnect();
    return 0;
  } finally {
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
  }
}
