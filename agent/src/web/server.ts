// The web server under test when the guest has none of its own: the site's static files
// (kept in memory, as a server's file cache would) and its cgi-bin programs through a real
// CGI gateway, a new process per request.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AGENT_VERSION } from '../version';
import { runCgi, type CgiLimits } from './cgi-gateway';
import { STATIC_TYPES } from './site';

export const SERVER_SOFTWARE = `guestbench/${AGENT_VERSION}`;

export interface WebServerOptions {
  /** A folder with static/ and cgi-bin/ (see writeSite). */
  readonly siteDir: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  readonly cgi?: CgiLimits;
  /** Told about each CGI program that failed (the client got a 500). */
  readonly onCgiError?: (scriptName: string, error: string) => void;
}

export interface RunningWebServer {
  /** e.g. http://127.0.0.1:40123, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly lastModified: string;
}

function loadStatic(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const st = statSync(file);
    if (!st.isFile()) continue;
    files.set(name, { body: readFileSync(file), type: STATIC_TYPES[name] ?? 'application/octet-stream', lastModified: st.mtime.toUTCString() });
  }
  return files;
}

function cgiPrograms(dir: string): Set<string> {
  const names = new Set<string>();
  for (const name of readdirSync(dir)) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      if (statSync(path.join(dir, name)).isFile()) names.add(name);
    } catch {
      // Not executable: not a program.
    }
  }
  return names;
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Starts the server; resolves once it listens. */
export function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const staticFiles = loadStatic(path.join(options.siteDir, 'static'));
  const cgiDir = path.join(options.siteDir, 'cgi-bin');
  const programs = cgiPrograms(cgiDir);
  const documentRoot = path.resolve(options.siteDir);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('Server', SERVER_SOFTWARE);
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q + 1);
    const method = req.method ?? 'GET';

    if (pathname.startsWith('/static/')) {
      const file = staticFiles.get(pathname.slice('/static/'.length));
      if (file === undefined) return plain(res, 404, `no such page: ${pathname}`);
      if (method !== 'GET' && method !== 'HEAD') return plain(res, 405, `${method} is not allowed here`, { Allow: 'GET, HEAD' });
      res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Last-Modified': file.lastModified });
      res.end(method === 'HEAD' ? undefined : file.body);
      return;
    }

    if (pathname.startsWith('/cgi-bin/')) {
      const rest = pathname.slice('/cgi-bin/'.length);
      const slash = rest.indexOf('/');
      const name = slash < 0 ? rest : rest.slice(0, slash);
      if (!programs.has(name)) return plain(res, 404, `no such program: /cgi-bin/${name}`);
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return plain(res, 405, `${method} is not allowed here`, { Allow: 'GET, HEAD, POST' });
      const local = req.socket.address() as AddressInfo;
      const host = req.headers.host ?? '';
      runCgi(
        {
          scriptPath: path.join(cgiDir, name),
          scriptName: `/cgi-bin/${name}`,
          pathInfo: slash < 0 ? '' : rest.slice(slash),
          queryString: query,
          method,
          headers: req.headers,
          remoteAddress: req.socket.remoteAddress ?? '',
          serverName: host === '' ? local.address : host.replace(/:\d+$/, ''),
          serverPort: local.port,
          serverProtocol: `HTTP/${req.httpVersion}`,
          serverSoftware: SERVER_SOFTWARE,
          documentRoot,
          body: method === 'POST' ? req : undefined,
        },
        options.cgi,
      ).then(
        (outcome) => {
          if (res.destroyed) return;
          if (!outcome.ok) {
            options.onCgiError?.(`/cgi-bin/${name}`, outcome.error);
            return plain(res, 500, `/cgi-bin/${name} failed: ${outcome.error}`);
          }
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of outcome.headers) {
            const prev = headers[k];
            headers[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
          }
          res.writeHead(outcome.status, outcome.reason, { ...headers, 'Content-Length': outcome.body.length });
          res.end(method === 'HEAD' ? undefined : outcome.body);
        },
        (err: unknown) => plain(res, 500, `/cgi-bin/${name} failed: ${(err as Error).message}`),
      );
      if (method !== 'POST') req.resume();
      return;
    }

    plain(res, 404, `no such page: ${pathname} (pages: /static/small, /static/large, /cgi-bin/env, /cgi-bin/maze?size=N&seed=S)`);
  };

  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  // No limit on requests per connection, like nginx's keepalive_requests set high.
  server.maxRequestsPerSocket = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${host}:${address.port}`,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
