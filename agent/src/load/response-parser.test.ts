import { ResponseParseError, ResponseParser, type ParsedResponse } from './response-parser';

function parseAll(chunks: readonly Buffer[], head = false): { responses: ParsedResponse[]; parser: ResponseParser } {
  const responses: ParsedResponse[] = [];
  const parser = new ResponseParser(
    (r) => responses.push(r),
    () => head,
    true,
  );
  for (const c of chunks) parser.feed(c);
  return { responses, parser };
}

/** Every way of cutting `text` into two reads, and one byte per read. */
function splits(text: string): Buffer[][] {
  const b = Buffer.from(text, 'latin1');
  const out: Buffer[][] = [];
  for (let i = 1; i < b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  out.push([...b].map((x) => Buffer.from([x])));
  return out;
}

describe('ResponseParser', () => {
  const fixed = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 5\r\n\r\nhello';

  it('frames a Content-Length response however the bytes are split across reads', () => {
    for (const chunks of splits(fixed)) {
      const { responses } = parseAll(chunks);
      expect(responses).toEqual([{ status: 200, headerBytes: fixed.length - 5, bodyBytes: 5, payloadBytes: 5, keepAlive: true, server: 'nginx/1.22.1' }]);
    }
  });

  it('frames chunked bodies, counting payload without the chunk framing', () => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\na;ext=1\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n';
    for (const chunks of splits(chunked)) {
      const { responses } = parseAll(chunks);
      expect(responses).toHaveLength(1);
      expect(responses[0]).toMatchObject({ status: 200, payloadBytes: 14, keepAlive: true });
      expect((responses[0] as ParsedResponse).headerBytes + (responses[0] as ParsedResponse).bodyBytes).toBe(chunked.length);
    }
  });

  it('parses pipelined responses that arrive in one read, and reads Server only once', () => {
    const two = `${fixed}HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    const { responses } = parseAll([Buffer.from(two)]);
    expect(responses.map((r) => [r.status, r.payloadBytes, r.keepAlive, r.server])).toEqual([
      [200, 5, true, 'nginx/1.22.1'],
      [404, 0, false, undefined],
    ]);
  });

  it('reads a body without length until the connection closes, and knows a cut-off response', () => {
    const { responses, parser } = parseAll([Buffer.from('HTTP/1.0 200 OK\r\n\r\nsome '), Buffer.from('body')]);
    expect(responses).toHaveLength(0);
    expect(parser.end()).toBe(true);
    expect(responses[0]).toMatchObject({ status: 200, payloadBytes: 9, keepAlive: false });
    const cut = parseAll([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')]);
    expect(cut.parser.end()).toBe(false);
    expect(parseAll([]).parser.end()).toBe(true);
  });

  it('expects no body for HEAD, 204 and 304, skips 1xx, and honours HTTP/1.0 keep-alive', () => {
    expect(parseAll([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n')], true).responses[0]).toMatchObject({ status: 200, payloadBytes: 0 });
    expect(parseAll([Buffer.from('HTTP/1.1 204 No Content\r\n\r\n')]).responses[0]).toMatchObject({ status: 204 });
    expect(parseAll([Buffer.from('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n')]).responses[0]).toMatchObject({ status: 304, payloadBytes: 0 });
    const early = parseAll([Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')]).responses;
    expect(early.map((r) => r.status)).toEqual([200]);
    expect(parseAll([Buffer.from('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')]).responses[0]?.keepAlive).toBe(true);
    expect(parseAll([Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')]).responses[0]?.keepAlive).toBe(false);
  });

  it('refuses what is not HTTP', () => {
    expect(() => parseAll([Buffer.from('SSH-2.0-OpenSSH_9.2\r\n\r\n')])).toThrow(ResponseParseError);
    expect(() => parseAll([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n')])).toThrow(/bad Content-Length/);
    expect(() => parseAll([Buffer.from('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n')])).toThrow(/malformed header/);
    expect(() => parseAll([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')])).toThrow(/chunk size/);
  });
});
