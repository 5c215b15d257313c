import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { parseCgiOutput } from './cgi-gateway';
import { startWebServer, type RunningWebServer } from './server';
import { largeFile, smallPage, writeSite } from './site';

const LARGE = 256 * 1024;

async function get(
  url: string,
  method: 'GET' | 'HEAD' | 'POST' = 'GET',
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const res = await request(url, { method, body, headers: body === undefined ? {} : { 'content-type': 'text/plain' } });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

/** Checks that a maze page is a perfect maze: every cell reachable, exactly one path between any two. */
function checkPerfectMaze(html: string, size: number): void {
  const rows = html.split('\n').filter((l) => l.startsWith('<tr>'));
  expect(rows).toHaveLength(size);
  const cells = rows.map((r) => [...r.matchAll(/<td(?: class=(r|b|rb))?><\/td>/g)].map((m) => m[1] ?? ''));
  for (const row of cells) expect(row).toHaveLength(size);
  const open = (x: number, y: number, dx: number, dy: number): boolean => {
    if (dx === 1) return !(cells[y]?.[x] ?? 'r').includes('r');
    if (dx === -1) return x > 0 && !(cells[y]?.[x - 1] ?? 'r').includes('r');
    if (dy === 1) return !(cells[y]?.[x] ?? 'b').includes('b');
    return y > 0 && !(cells[y - 1]?.[x] ?? 'b').includes('b');
  };
  let passages = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) passages += (open(x, y, 1, 0) ? 1 : 0) + (open(x, y, 0, 1) ? 1 : 0);
  // The outer walls stand, and a spanning tree of size² cells has size² - 1 passages.
  for (let i = 0; i < size; i++) {
    expect(cells[i]?.[size - 1]).toContain('r');
    expect(cells[size - 1]?.[i]).toContain('b');
  }
  expect(passages).toBe(size * size - 1);
  const seen = new Set(['0,0']);
  const queue: Array<[number, number]> = [[0, 0]];
  while (queue.length > 0) {
    const [x, y] = queue.shift() as [number, number];
    for (const [dx, dy] of [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ] as const) {
      const key = `${x + dx},${y + dy}`;
      if (open(x, y, dx, dy) && !seen.has(key)) {
        seen.add(key);
        queue.push([x + dx, y + dy]);
      }
    }
  }
  expect(seen.size).toBe(size * size);
}

describe('the web server under test', () => {
  let dir: string;
  let server: RunningWebServer;
  const cgiErrors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gb-web-'));
    writeSite(dir, { largeBytes: LARGE });
    // Programs that fail in the ways a real CGI program does.
    const fail = (name: string, text: string): void => {
      writeFileSync(path.join(dir, 'cgi-bin', name), text);
      chmodSync(path.join(dir, 'cgi-bin', name), 0o755);
    };
    fail('exit1', '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\npartial output"\necho "database is down" >&2\nexit 1\n');
    fail('noheader', '#!/bin/sh\necho "just text"\n');
    fail('echo', '#!/bin/sh\nprintf "Status: 201 Created\\nContent-Type: text/plain\\nX-Seen: $CONTENT_LENGTH\\n\\n"\ncat\n');
    writeFileSync(path.join(dir, 'cgi-bin', 'notexec'), '#!/bin/sh\necho hi\n');
    server = await startWebServer({ siteDir: dir, onCgiError: (script, error) => cgiErrors.push(`${script}: ${error}`) });
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /static/small: 200, 1024 bytes of HTML, the same bytes as the site file', async () => {
    const r = await get(`${server.url}/static/small`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-length']).toBe('1024');
    expect(r.body.equals(smallPage())).toBe(true);
    expect(r.body.toString()).toMatch(/^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
  });

  it('serves /static/large: 200 and the configured size, byte for byte', async () => {
    const r = await get(`${server.url}/static/large`);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(LARGE);
    const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    expect(digest(r.body)).toBe(digest(largeFile(LARGE)));
    // HEAD: the same length announced, no body.
    const head = await get(`${server.url}/static/large`, 'HEAD');
    expect(head.headers['content-length']).toBe(String(LARGE));
    expect(head.body.length).toBe(0);
  });

  it('runs /cgi-bin/env as CGI/1.1: a process per request with the RFC 3875 meta-variables', async () => {
    const r = await get(`${server.url}/cgi-bin/env/extra/path?a=1&b=two`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    const env = Object.fromEntries(
      r.body
        .toString()
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/cgi-bin/env',
      PATH_INFO: '/extra/path',
      PATH_TRANSLATED: `${path.resolve(dir)}/extra/path`,
      QUERY_STRING: 'a=1&b=two',
      REMOTE_ADDR: '127.0.0.1',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(server.port),
      SERVER_PROTOCOL: 'HTTP/1.1',
    });
    expect(env['SERVER_SOFTWARE']).toMatch(/^guestbench\//);
    expect(env['HTTP_HOST']).toBe(`127.0.0.1:${server.port}`);
    // A new process each time: the page is the same for the same request.
    const again = await get(`${server.url}/cgi-bin/env/extra/path?a=1&b=two`);
    expect(again.body.equals(r.body)).toBe(true);
  });

  it('passes a POST body on stdin with CONTENT_LENGTH, and honours a Status header', async () => {
    const r = await get(`${server.url}/cgi-bin/echo`, 'POST', 'hello body');
    expect(r.status).toBe(201);
    expect(r.headers['x-seen']).toBe('10');
    expect(r.body.toString()).toBe('hello body');
  });

  it('generates /cgi-bin/maze: the same perfect maze for the same seed, another for another seed', async () => {
    const a = await get(`${server.url}/cgi-bin/maze?size=24&seed=7`);
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = a.body.toString();
    expect(html).toContain('<table class="maze" data-size="24" data-seed="7">');
    checkPerfectMaze(html, 24);
    const b = await get(`${server.url}/cgi-bin/maze?size=24&seed=7`);
    expect(b.body.equals(a.body)).toBe(true);
    const c = await get(`${server.url}/cgi-bin/maze?size=24&seed=8`);
    expect(c.body.equals(a.body)).toBe(false);
    checkPerfectMaze(c.body.toString(), 24);
    // Defaults: size 32, seed 1.
    checkPerfectMaze((await get(`${server.url}/cgi-bin/maze`)).body.toString(), 32);
  });

  it('answers 400 from the maze program for a bad query', async () => {
    for (const q of ['size=1', 'size=401', 'size=ten', 'seed=-3', 'colour=red']) {
      const r = await get(`${server.url}/cgi-bin/maze?${q}`);
      expect(r.status).toBe(400);
      expect(r.body.toString()).toMatch(/must be|unknown parameter/);
    }
  });

  it('answers 500 when a CGI program fails, and says why', async () => {
    cgiErrors.length = 0;
    const exit1 = await get(`${server.url}/cgi-bin/exit1`);
    expect(exit1.status).toBe(500);
    // Its partial output is not passed on as if it were the page.
    expect(exit1.body.toString()).not.toContain('partial output');
    expect(exit1.body.toString()).toContain('exited with status 1: database is down');
    const noheader = await get(`${server.url}/cgi-bin/noheader`);
    expect(noheader.status).toBe(500);
    expect(cgiErrors).toEqual(['/cgi-bin/exit1: exited with status 1: database is down', expect.stringMatching(/^\/cgi-bin\/noheader: /)]);
  });

  it('answers 404 for unknown pages and programs that are not executable, 405 for other methods', async () => {
    expect((await get(`${server.url}/static/nothing`)).status).toBe(404);
    expect((await get(`${server.url}/cgi-bin/notexec`)).status).toBe(404);
    expect((await get(`${server.url}/cgi-bin/.hidden`)).status).toBe(404);
    expect((await get(`${server.url}/cgi-bin/`)).status).toBe(404);
    expect((await get(`${server.url}/`)).status).toBe(404);
    expect((await get(`${server.url}/static/small`, 'POST', 'x')).status).toBe(405);
  });
});

describe('parseCgiOutput', () => {
  it('accepts LF and CRLF header endings and keeps the body as is', () => {
    for (const nl of ['\n', '\r\n']) {
      const r = parseCgiOutput(Buffer.from(`Content-Type: text/plain${nl}X-A: 1${nl}${nl}body${nl}more`));
      expect(r).toEqual({
        ok: true,
        status: 200,
        reason: 'OK',
        headers: [
          ['Content-Type', 'text/plain'],
          ['X-A', '1'],
        ],
        body: Buffer.from(`body${nl}more`),
      });
    }
  });

  it('turns an absolute Location into a 302 and refuses what is not a CGI response', () => {
    expect(parseCgiOutput(Buffer.from('Location: http://example.test/x\n\n'))).toMatchObject({ ok: true, status: 302 });
    expect(parseCgiOutput(Buffer.from(''))).toEqual({ ok: false, error: 'no output' });
    expect(parseCgiOutput(Buffer.from('Content-Type: text/plain\n'))).toMatchObject({ ok: false, error: 'no blank line after the headers' });
    expect(parseCgiOutput(Buffer.from('X-A: 1\n\nbody'))).toMatchObject({ ok: false, error: 'no Content-Type header' });
    expect(parseCgiOutput(Buffer.from('Status: abc\nContent-Type: text/plain\n\n'))).toMatchObject({ ok: false });
    expect(parseCgiOutput(Buffer.from('Location: /local\n\n'))).toMatchObject({ ok: false, error: 'local redirect to /local is not supported' });
  });
});
