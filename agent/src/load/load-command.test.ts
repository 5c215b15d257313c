import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { parseAbOutput } from './ab';
import { formatAbReport, load, parseLoadArguments } from './load-command';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, done) {
        text += String(chunk);
        done();
      },
    }),
    text: () => text,
  };
}

describe('guestbench-agent load', () => {
  it('takes ab flags', () => {
    expect(parseLoadArguments(['http://127.0.0.1:8080/static/small', '-c', '8', '-n', '100', '-k', '--json'])).toMatchObject({
      kind: 'load',
      generator: 'builtin',
      json: true,
      options: { concurrency: 8, requests: 100, durationSeconds: undefined, keepAlive: true },
    });
    expect(parseLoadArguments(['http://127.0.0.1/'])).toMatchObject({ options: { durationSeconds: 10, requests: undefined } });
  });

  it('refuses bad flags with one line naming them', () => {
    expect(() => parseLoadArguments(['-c', '0', 'http://127.0.0.1/'])).toThrow('load: concurrency must be a whole number from 1 to 20000, got 0');
    expect(() => parseLoadArguments([])).toThrow('load: give exactly one URL, got 0');
    expect(() => parseLoadArguments(['127.0.0.1:8080'])).toThrow(/load: url: malformed URL "127.0.0.1:8080"|only http/);
    expect(() => parseLoadArguments(['http://127.0.0.1/', '-c', 'many'])).toThrow('load: -c needs a number, got "many"');
    expect(() => parseLoadArguments(['http://127.0.0.1/', '--generator', 'wrk'])).toThrow('load: --generator is builtin or ab, got "wrk"');
  });

  it("prints ab's report, in a layout ab's own parser reads back, and JSON under ab's names", async () => {
    const server = createServer((_q, res) => res.end('hello, load'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/page`;
      const text = sink();
      expect(await load(parseLoadArguments([url, '-c', '2', '-n', '50', '-k']), text.stream)).toBe(0);
      const back = parseAbOutput(text.text());
      expect(back).toMatchObject({
        documentPath: '/page',
        documentLength: 11,
        concurrencyLevel: 2,
        completeRequests: 50,
        failedRequests: 0,
        keepAliveRequests: 50,
        htmlTransferred: 550,
      });
      expect(Object.keys(back.percentiles).sort()).toEqual(['100', '50', '66', '75', '80', '90', '95', '98', '99', '99.9']);
      expect(back.connectionTimes?.total.max).toBe(back.percentiles['100']);
      const json = sink();
      await load(parseLoadArguments([url, '-n', '5', '--json']), json.stream);
      const parsed = JSON.parse(json.text()) as Record<string, unknown>;
      expect(parsed).toMatchObject({
        'Complete requests': 5,
        'Document Length': 11,
        'Failed requests by kind': { Connect: 0, Receive: 0, Length: 0, Exceptions: 0 },
      });
      expect(Object.keys(parsed['Percentage of the requests served within a certain time (ms)'] as object)).toContain('99.9%');
    } finally {
      server.close();
    }
  });

  it('says what ab cannot do, and leaves nothing behind', async () => {
    const before = readdirSync(tmpdir()).filter((d) => d.startsWith('guestbench-ab-')).length;
    const err = sink();
    expect(await load(parseLoadArguments(['http://127.0.0.1:1/', '-n', '4', '-k', '--pipelining', '2', '--generator', 'ab']), sink().stream, err.stream)).toBe(
      1,
    );
    expect(err.text()).toBe('guestbench-agent load: ab cannot pipeline requests; use the builtin load generator for pipelining\n');
    expect(readdirSync(tmpdir()).filter((d) => d.startsWith('guestbench-ab-')).length).toBe(before);
  });

  it('exits 1 when requests failed, and shows why', async () => {
    const out = sink();
    expect(await load(parseLoadArguments(['http://127.0.0.1:1/', '-n', '3']), out.stream)).toBe(1);
    expect(out.text()).toMatch(/Failed requests:\s+3\n\s+\(Connect: 3, Receive: 0, Length: 0, Exceptions: 0\)/);
    expect(out.text()).toMatch(/Errors\n\s+3\s+connect: .*ECONNREFUSED/);
    expect(formatAbReport(parseAbOutput(out.text()))).toContain('Failed requests:        3');
  });
});
