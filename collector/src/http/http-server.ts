// The HTTP API: runs, one run with its samples and logs, the comparison against a baseline,
// jobs, Prometheus /metrics and health.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { compareAa, isAaError } from '../compare/aa-verdict';
import { compare } from '../compare/compare';
import { configurationView, formatConfigurationView } from '../compare/configuration-view';
import type { Authenticator } from '../auth/authenticator';
import { isNoAgentsError, type JobBroker } from '../jobs/job-broker';
import { parseJobRequest } from '../jobs/parse-job-request';
import type { Logger } from '../log';
import type { CollectorMetrics } from '../metrics/metrics';
import { parseGroupSpecStrict, parseRunFilter } from '../query/parse-query';
import { parseReportQuery } from '../query/parse-report-query';
import type { FleetSummary } from '../presence';
import type { Store } from '../store/store';

export interface HttpApiOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics?: CollectorMetrics;
  readonly jobs?: JobBroker;
  /** Writes (POST) need an operator token when auth is on. */
  readonly auth?: Authenticator;
  /** Fleet totals from the shared store (GET /api/v1/fleet); the route answers 503 without it. */
  readonly fleet?: () => Promise<FleetSummary>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** Sent as is with this content type instead of JSON. */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Route {
  readonly method: 'GET' | 'POST';
  /** A fixed path or a pattern whose groups are path parameters. */
  readonly path: string | RegExp;
  /** Name for metrics (never the raw path, which would explode label cardinality). */
  readonly name: string;
  handle(req: { url: URL; params: string[]; body: () => Promise<unknown>; authorization: string | undefined }): Promise<Reply>;
}

const MAX_BODY = 64 * 1024;

function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // Stop keeping it, but drain it, so the client still gets the 413 on an open socket.
        chunks.length = 0;
        if (size - c.length <= MAX_BODY) reject(new HttpError(413, `request body larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function onlyKeys(url: URL, keys: readonly string[]): void {
  for (const key of new Set(url.searchParams.keys())) {
    if (!keys.includes(key)) throw new HttpError(400, `unknown query parameter "${key.slice(0, 40)}" (known: ${keys.join(', ') || 'none'})`);
  }
}

function positiveInt(url: URL, key: string, def: number, max: number): number {
  const v = url.searchParams.get(key);
  if (v === null) return def;
  if (!/^[0-9]{1,6}$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new HttpError(400, `${key}: a whole number from 1 to ${max}, got ${JSON.stringify(v.slice(0, 40))}`);
  return Number(v);
}

function runId(raw: string): string {
  const id = decodeURIComponent(raw);
  if (id.length > 128) throw new HttpError(400, 'run id: at most 128 characters');
  return id;
}

export function apiRoutes(options: HttpApiOptions): Route[] {
  const { store } = options;
  const ok = (body: unknown): Reply => ({ status: 200, body });
  const routes: Route[] = [
    { method: 'GET', path: '/healthz', name: 'healthz', handle: async () => ok({ status: 'ok' }) },
    {
      method: 'GET',
      path: '/api/v1/runs',
      name: 'runs',
      async handle({ url }) {
        const filter = parseRunFilter(url.searchParams);
        if (!filter.ok) throw new HttpError(400, filter.error);
        return ok({ runs: await store.listRuns(filter.value) });
      },
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/runs\/([^/]+)$/,
      name: 'run',
      async handle({ url, params }) {
        onlyKeys(url, []);
        const id = runId(params[0] ?? '');
        const run = await store.getRun(id);
        if (run === undefined) throw new HttpError(404, `run ${id} does not exist`);
        return ok({ run, samples: await store.getSamples([run.id]) });
      },
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/runs\/([^/]+)\/logs$/,
      name: 'run-logs',
      async handle({ url, params }) {
        onlyKeys(url, ['limit']);
        const limit = positiveInt(url, 'limit', 10_000, 100_000);
        const id = runId(params[0] ?? '');
        const run = await store.getRun(id);
        if (run === undefined) throw new HttpError(404, `run ${id} does not exist`);
        const lines = await store.getLogs(run.id, limit);
        return ok({
          runId: run.id,
          agentId: run.agentId,
          lines: lines.map((l) => ({ timeMs: l.timeMs, level: l.level, message: l.message, fields: JSON.parse(l.fieldsJson) as unknown })),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/v1/fleet',
      name: 'fleet',
      async handle({ url }) {
        onlyKeys(url, []);
        if (options.fleet === undefined) throw new HttpError(503, 'fleet totals are not available on this collector');
        return ok(await options.fleet());
      },
    },
    {
      method: 'GET',
      path: '/api/v1/compare',
      name: 'compare',
      async handle({ url }) {
        const query = parseReportQuery(url.searchParams, ['aa']);
        if (!query.ok) throw new HttpError(400, query.error);
        const aa = url.searchParams.get('aa');
        if (aa === null) return ok(await compare(store, query.value));
        // ?aa=A,B: the A/A check; host and time narrow it, baseline and groups are A and B.
        const pair = aa.split(',').map((g) => g.trim());
        if (pair.length !== 2)
          throw new HttpError(400, `aa: two groups of one platform, comma-separated (e.g. aa=native/a,native/b), got ${JSON.stringify(aa.slice(0, 80))}`);
        for (const key of ['baseline', 'groups', 'platform', 'label']) {
          if (url.searchParams.get(key)) throw new HttpError(400, `aa: ${key} does not apply (the two groups are the baseline and the group compared)`);
        }
        for (const g of pair) {
          const p = parseGroupSpecStrict(g, 'aa');
          if (!p.ok) throw new HttpError(400, p.error);
        }
        try {
          return ok(await compareAa(store, pair[0] as string, pair[1] as string, query.value.filter));
        } catch (err: unknown) {
          if (isAaError(err)) throw new HttpError(err.kind === 'not-found' ? 404 : 400, `aa: ${err.message}`);
          throw err;
        }
      },
    },
    {
      // The effect of each hypervisor setting, from the configurations guestbench-lab recorded.
      method: 'GET',
      path: '/api/v1/configurations',
      name: 'configurations',
      async handle({ url }) {
        onlyKeys(url, ['platform', 'host', 'since', 'until', 'format']);
        const format = url.searchParams.get('format') ?? 'json';
        if (format !== 'json' && format !== 'text') throw new HttpError(400, `format: "${format.slice(0, 20)}" is not json or text`);
        const query = parseReportQuery(new URLSearchParams([...url.searchParams].filter(([k]) => k !== 'format')));
        if (!query.ok) throw new HttpError(400, query.error);
        const view = await configurationView(store, query.value.filter);
        return format === 'json' ? ok(view) : { status: 200, body: formatConfigurationView(view), contentType: 'text/plain; charset=utf-8' };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/jobs',
      name: 'jobs',
      async handle({ url }) {
        onlyKeys(url, ['limit']);
        return ok({ jobs: await store.listJobs(positiveInt(url, 'limit', 100, 1000)) });
      },
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/jobs\/([^/]+)$/,
      name: 'job',
      async handle({ url, params }) {
        onlyKeys(url, []);
        const id = decodeURIComponent(params[0] ?? '');
        const job = id.length <= 128 ? await store.getJob(id) : undefined;
        if (job === undefined) throw new HttpError(404, `job ${id.slice(0, 128)} does not exist`);
        return ok(job);
      },
    },
    {
      method: 'POST',
      path: '/api/v1/jobs',
      name: 'job-create',
      async handle({ url, body, authorization }) {
        if (options.auth !== undefined) {
          const auth = await options.auth.check(authorization, 'operator');
          if (!auth.ok) throw new HttpError(401, `the HTTP API is read-only without an operator token: ${auth.reason}`);
        }
        onlyKeys(url, []);
        if (options.jobs === undefined) throw new HttpError(503, 'jobs are not available on this collector');
        const raw = await body();
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
          throw new HttpError(400, 'body: expected a JSON object {"platform", "profile", "label"}');
        const known = ['platform', 'profile', 'label'];
        const entries = Object.entries(raw as Record<string, unknown>);
        for (const [k, v] of entries) {
          if (!known.includes(k)) throw new HttpError(400, `body: unknown field "${k.slice(0, 40)}" (known: ${known.join(', ')})`);
          if (typeof v !== 'string') throw new HttpError(400, `body.${k}: must be a string`);
        }
        const parsed = parseJobRequest(raw as Record<string, string>);
        if (!parsed.ok) throw new HttpError(400, parsed.error);
        try {
          return { status: 201, body: await options.jobs.create(parsed.value) };
        } catch (err: unknown) {
          if (isNoAgentsError(err)) throw new HttpError(409, err.message);
          throw err;
        }
      },
    },
  ];
  if (options.metrics !== undefined) {
    const registry = options.metrics.registry;
    routes.push({
      method: 'GET',
      path: '/metrics',
      name: 'metrics',
      handle: async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }),
    });
  }
  return routes;
}

function send(res: http.ServerResponse, reply: Reply, head: boolean): void {
  const text = reply.contentType !== undefined ? String(reply.body) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': reply.contentType ?? 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(head ? undefined : text);
}

/** Creates the HTTP server. `extraRoutes` come first (e.g. the HTML report). */
export function createHttpApi(
  options: HttpApiOptions,
  extraRoutes: readonly Route[] = [],
  tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer },
): http.Server {
  const log = options.logger.child({ component: 'http' });
  const routes = [...extraRoutes, ...apiRoutes(options)];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = process.hrtime.bigint();
    let routeName = 'unknown';
    res.on('finish', () => {
      options.metrics?.httpDuration.observe({ route: routeName, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    const fail = (status: number, message: string): void => {
      // Every refused request is one event, whatever refused it.
      if (status >= 400 && status < 500) {
        log.warn({ event: 'request-rejected', method: req.method, path: (req.url ?? '').slice(0, 200), status, reason: message }, 'request rejected');
        options.metrics?.rejected.inc({ api: 'http', method: routeName, code: String(status) });
      }
      send(res, { status, body: { error: message } }, req.method === 'HEAD');
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://collector');
    } catch {
      fail(400, 'malformed request URL');
      return;
    }
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    let params: string[] = [];
    const matching = routes.filter((r) => {
      if (typeof r.path === 'string') return r.path === path;
      const m = r.path.exec(path);
      if (m !== null) params = m.slice(1);
      return m !== null;
    });
    const route = matching.find((r) => r.method === method);
    if (route === undefined) {
      if (matching.length > 0) {
        res.setHeader('allow', [...new Set(matching.map((r) => r.method))].join(', '));
        fail(405, `method ${req.method ?? ''} not allowed on ${path}`);
      } else {
        fail(404, `no such endpoint: ${path.slice(0, 200)} (try /api/v1/runs, /api/v1/runs/{id}, /api/v1/compare?baseline=native, /api/v1/jobs, /metrics)`);
      }
      return;
    }
    routeName = route.name;
    let handled: Promise<Reply>;
    try {
      handled = route.handle({ url, params, body: () => readJsonBody(req), authorization: req.headers.authorization });
    } catch (err: unknown) {
      handled = Promise.reject(err);
    }
    handled.then(
      (reply) => send(res, reply, req.method === 'HEAD'),
      (err: unknown) => {
        if (err instanceof HttpError) fail(err.status, err.message);
        else if (err instanceof URIError) fail(400, 'malformed percent-encoding in the path');
        else {
          log.error({ err, path: url.pathname }, 'request failed');
          send(res, { status: 500, body: { error: 'internal error; see the collector log' } }, false);
        }
      },
    );
  };
  // A connection that sends no complete request head within 20 s, or no complete request within
  // 60 s, is closed (checked every 5 s), so silent connections do not pile up.
  const limits = { headersTimeout: 20_000, requestTimeout: 60_000, connectionsCheckingInterval: 5_000 };
  if (tls === undefined) return http.createServer(limits, handler);
  return https.createServer(
    {
      ...limits,
      handshakeTimeout: 10_000,
      cert: tls.cert,
      key: tls.key,
      ca: tls.clientCa,
      requestCert: tls.clientCa !== undefined,
      rejectUnauthorized: tls.clientCa !== undefined,
    },
    handler,
  );
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
