// An incremental HTTP/1.x response parser for the load generator's hot path: it frames
// responses (Content-Length, chunked, or until close; none for HEAD, 1xx, 204 and 304)
// and counts bytes, without building header objects nobody reads.

/** What the load generator needs to know about one complete response. */
export interface ParsedResponse {
  readonly status: number;
  /** Bytes of status line and headers. */
  readonly headerBytes: number;
  /** Bytes of the body as sent (chunk framing included for chunked bodies). */
  readonly bodyBytes: number;
  /** Bytes of payload: the body without chunk framing, as ab's "HTML transferred" counts. */
  readonly payloadBytes: number;
  /** False when the server said `Connection: close` (or spoke HTTP/1.0 without keep-alive). */
  readonly keepAlive: boolean;
  /** The Server header of the response, when asked for (first response only). */
  readonly server: string | undefined;
}

export class ResponseParseError extends Error {
  override readonly name = 'ResponseParseError';
}

enum State {
  Head,
  FixedBody,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

const LF = 10;
/** Refuse a response head larger than this: it is not a web server talking. */
const MAX_HEAD = 64 * 1024;

/**
 * Feed it the bytes of one connection in order; it calls `onResponse` once per complete
 * response. `expectBodyless` is consulted per response (true for answers to HEAD).
 */
export class ResponseParser {
  private state = State.Head;
  private head: Buffer[] = [];
  private headLength = 0;
  private status = 0;
  private keepAlive = true;
  private server: string | undefined;
  private headerBytes = 0;
  private bodyBytes = 0;
  private payloadBytes = 0;
  private remaining = 0;
  private line = '';
  /** Whether any byte of the current response has arrived (first byte time for ab's "Waiting"). */
  started = false;

  constructor(
    private readonly onResponse: (response: ParsedResponse) => void,
    private readonly expectBodyless: () => boolean = () => false,
    /** Read the Server header of the next response; reset after it. */
    public wantServer = false,
  ) {}

  /** Parses `data`; throws ResponseParseError on bytes that are not an HTTP/1.x response. */
  feed(data: Buffer, start = 0, end = data.length): void {
    let i = start;
    while (i < end) {
      this.started = true;
      switch (this.state) {
        case State.Head: {
          // The blank line may straddle reads: keep a copy of a partial head (the caller may
          // reuse `data`) and search again with the next bytes.
          const earlier = this.headLength;
          const buf = earlier === 0 ? data : Buffer.concat([...this.head, data.subarray(i, end)]);
          const base = earlier === 0 ? i : 0;
          const limit = earlier === 0 ? end : buf.length;
          const at = buf.indexOf('\r\n\r\n', base, 'latin1');
          if (at < 0 || at + 4 > limit) {
            this.head = [Buffer.from(buf.subarray(base, limit))];
            this.headLength = limit - base;
            if (this.headLength > MAX_HEAD) throw new ResponseParseError(`response head longer than ${MAX_HEAD} bytes`);
            return;
          }
          const length = at + 4 - base;
          const text = buf.toString('latin1', base, at);
          this.head = [];
          this.headLength = 0;
          i += length - earlier;
          this.parseHead(text, length);
          continue;
        }
        case State.FixedBody: {
          const take = Math.min(this.remaining, end - i);
          i += take;
          this.remaining -= take;
          this.bodyBytes += take;
          this.payloadBytes += take;
          if (this.remaining === 0) this.complete();
          continue;
        }
        case State.UntilClose:
          this.bodyBytes += end - i;
          this.payloadBytes += end - i;
          return;
        case State.ChunkSize:
        case State.Trailers:
        case State.ChunkDataEnd: {
          const nl = data.indexOf(LF, i);
          const stop = nl < 0 || nl >= end ? end : nl + 1;
          this.line += data.toString('latin1', i, stop);
          this.bodyBytes += stop - i;
          i = stop;
          if (!this.line.endsWith('\n')) {
            if (this.line.length > 4096) throw new ResponseParseError('chunk line too long');
            continue;
          }
          const line = this.line.replace(/\r?\n$/, '');
          this.line = '';
          this.onChunkLine(line);
          continue;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, end - i);
          i += take;
          this.remaining -= take;
          this.bodyBytes += take;
          this.payloadBytes += take;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          continue;
        }
      }
    }
  }

  /**
   * The connection closed. Completes a response delimited by the close; returns false
   * when a response was cut short (a receive error), true when the close was clean.
   */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.complete();
      return true;
    }
    return this.state === State.Head && !this.started;
  }

  private parseHead(text: string, length: number): void {
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    const statusLine = text.slice(0, eol);
    const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
    if (m === null) throw new ResponseParseError(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
    const http10 = m[1] === '0';
    const status = Number(m[2]);
    let contentLength = -1;
    let chunked = false;
    let connection = '';
    // Line by line without split(), and only the four headers read here are lower-cased: this
    // runs once per request, and without keep-alive every microsecond is a request less.
    for (let at = eol + 2; at < text.length;) {
      let next = text.indexOf('\r\n', at);
      if (next < 0) next = text.length;
      const line = text.slice(at, next);
      at = next + 2;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ResponseParseError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
      const first = line.charCodeAt(0) | 0x20;
      // c(ontent-length, onnection), t(ransfer-encoding), s(erver)
      if (first !== 0x63 && first !== 0x74 && first !== 0x73) continue;
      const name = line.slice(0, colon).toLowerCase();
      if (name === 'content-length') {
        const value = line.slice(colon + 1).trim();
        if (!/^\d{1,15}$/.test(value)) throw new ResponseParseError(`bad Content-Length: ${JSON.stringify(value)}`);
        contentLength = Number(value);
      } else if (name === 'transfer-encoding') {
        chunked = /(?:^|,)\s*chunked\s*$/i.test(line.slice(colon + 1));
      } else if (name === 'connection') {
        connection = line
          .slice(colon + 1)
          .trim()
          .toLowerCase();
      } else if (name === 'server' && this.wantServer) {
        this.server = line.slice(colon + 1).trim();
      }
    }
    if (status >= 100 && status < 200) {
      // Interim response (100 Continue, 103 Early Hints): the real one follows.
      this.headerBytes += length;
      this.started = true;
      return;
    }
    this.status = status;
    this.headerBytes += length;
    this.keepAlive = http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
    if (this.expectBodyless() || status === 204 || status === 304) {
      this.complete();
    } else if (chunked) {
      this.state = State.ChunkSize;
    } else if (contentLength >= 0) {
      this.remaining = contentLength;
      this.state = State.FixedBody;
      if (contentLength === 0) this.complete();
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }

  private onChunkLine(line: string): void {
    if (this.state === State.ChunkDataEnd) {
      if (line !== '') throw new ResponseParseError('chunk not followed by CRLF');
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      const size = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line);
      if (size === null) throw new ResponseParseError(`bad chunk size line: ${JSON.stringify(line.slice(0, 40))}`);
      this.remaining = parseInt(size[1] as string, 16);
      this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
    } else if (line === '') {
      this.complete();
    }
  }

  private complete(): void {
    const response: ParsedResponse = {
      status: this.status,
      headerBytes: this.headerBytes,
      bodyBytes: this.bodyBytes,
      payloadBytes: this.payloadBytes,
      keepAlive: this.keepAlive,
      server: this.server,
    };
    if (this.server !== undefined) this.wantServer = false;
    this.state = State.Head;
    this.headerBytes = 0;
    this.bodyBytes = 0;
    this.payloadBytes = 0;
    this.server = undefined;
    this.started = false;
    this.onResponse(response);
  }
}
