#!/usr/bin/env node
// The floor of a Node HTTP client without keep-alive: libuv TCP handles, a new connection
// per request, one shared read buffer, no parsing, no timing, no bookkeeping — the least
// JavaScript a Node client can run per request. bench/web-capacity.js runs it next to ab to
// show how much of the built-in generator's distance to ab is Node itself.
//
// Usage: node bench/lib/bare-connect-client.js URL CONNECTIONS SECONDS
// Prints {"requests": N, "seconds": S, "rps": R, "failed": F} on stdout. A request counts
// when its connection delivered at least one byte before the server closed it.
'use strict';

const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const { WriteWrap, streamBaseState, kReadBytesOrError } = process.binding('stream_wrap');

const [raw, connections, seconds] = process.argv.slice(2);
const url = new URL(raw);
const port = Number(url.port || 80);
const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`, 'latin1');
const buffer = Buffer.allocUnsafe(64 * 1024);
let done = 0;
let failed = 0;
let stop = false;

function one() {
  const handle = new TCP(constants.SOCKET);
  const connect = new TCPConnectWrap();
  let got = 0;
  connect.oncomplete = (status) => {
    if (status < 0) {
      failed++;
      handle.close();
      if (!stop) one();
      return;
    }
    const write = new WriteWrap();
    write.handle = handle;
    write.oncomplete = () => {};
    write.async = false;
    write.buffer = request;
    handle.writeBuffer(write, request);
  };
  handle.onread = () => {
    const n = streamBaseState[kReadBytesOrError];
    if (n > 0) {
      got += n;
      return;
    }
    if (n === 0) return;
    handle.close();
    if (got > 0) done++;
    else failed++;
    if (!stop) one();
  };
  if (handle.connect(connect, url.hostname, port) < 0) throw new Error(`cannot connect to ${url.host}`);
  handle.useUserBuffer(buffer);
  handle.readStart();
}

const t0 = process.hrtime.bigint();
for (let i = 0; i < Number(connections); i++) one();
setTimeout(
  () => {
    stop = true;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(`${JSON.stringify({ requests: done, seconds: s, rps: done / s, failed })}\n`);
    process.exit(0);
  },
  Number(seconds) * 1000,
);
