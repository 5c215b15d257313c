// The HTTP JSON API: runs, one run with its samples, and the comparison against a baseline.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compare } from '../compare/compare';
import type { Logger } from '../log';
import { parseGroupList, parseGroupSpecStrict, parseRunFilter } from '../query/parse-query';
import type { Store } from '../store/store';

export interface HttpApiOptions {
  readonly store: Store;
  readonly logger: Logger;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const COMPARE_KEYS = new Set(['baseline', 'groups']);

async function route(store: Store, url: URL): Promise<unknown> {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  if (path === '/healthz') return { status: 'ok' };
  if (path === '/api/v1/runs') {
    const filter = parseRunFilter(url.searchParams);
    if (!filter.ok) throw new HttpError(400, filter.error);
    return { runs: await store.listRuns(filter.value) };
  }
  const runMatch = /^\/api\/v1\/runs\/([^/]+)$/.exec(path);
  if (runMatch !== null) {
    const id = decodeURIComponent(runMatch[1] as string);
    if (id.length > 128) throw new HttpError(400, 'run id: at most 128 characters');
    const run = await store.getRun(id);
    if (run === undefined) throw new HttpError(404, `run ${id} does not exist`);
    return { run, samples: await store.getSamples([run.id]) };
  }
  if (path === '/api/v1/compare') {
    for (const key of new Set(url.searchParams.keys())) {
      if (!COMPARE_KEYS.has(key)) throw new HttpError(400, `unknown query parameter "${key.slice(0, 40)}" (known: baseline, groups)`);
    }
    const baseline = parseGroupSpecStrict(url.searchParams.get('baseline') ?? 'native', 'baseline');
    if (!baseline.ok) throw new HttpError(400, baseline.error);
    const groupsParam = url.searchParams.getAll('groups').flatMap((g) => g.split(','));
    const groups = parseGroupList(groupsParam, 'groups');
    if (!groups.ok) throw new HttpError(400, groups.error);
    return compare(store, { baseline: baseline.value, groups: groups.value });
  }
  throw new HttpError(404, `no such endpoint: ${path.slice(0, 200)} (try /api/v1/runs, /api/v1/runs/{id}, /api/v1/compare?baseline=native)`);
}

export function createHttpApi(options: HttpApiOptions): http.Server {
  const log = options.logger.child({ component: 'http' });
  return http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://collector');
    } catch {
      send(res, 400, { error: 'malformed request URL' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, { error: `method ${req.method ?? ''} not allowed; the API is read-only (GET)` });
      return;
    }
    route(options.store, url).then(
      (body) => send(res, 200, body),
      (err: unknown) => {
        if (err instanceof HttpError) {
          if (err.status === 400) log.warn({ event: 'request-rejected', path: url.pathname, reason: err.message }, 'request rejected');
          send(res, err.status, { error: err.message });
        } else if (err instanceof URIError) {
          send(res, 400, { error: 'malformed percent-encoding in the path' });
        } else {
          log.error({ err, path: url.pathname }, 'request failed');
          send(res, 500, { error: 'internal error; see the collector log' });
        }
      },
    );
  });
}

export async function listenHttp(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
