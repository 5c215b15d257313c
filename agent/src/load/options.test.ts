import { parseWebTargets } from '../web/pages';
import { LoadOptionsError, parseLoadOptions } from './options';

describe('parseLoadOptions refuses bad options with a clear message', () => {
  const url = 'http://127.0.0.1:8080/static/small';
  const cases: Array<[string, Parameters<typeof parseLoadOptions>[0], RegExp]> = [
    ['concurrency 0', { url, concurrency: 0, requests: 10 }, /^concurrency must be a whole number from 1 to 20000, got 0$/],
    ['fractional concurrency', { url, concurrency: 2.5, requests: 10 }, /concurrency must be a whole number/],
    [
      'a malformed URL',
      { url: 'http//127.0.0.1:8080', requests: 10 },
      /^url: malformed URL "http\/\/127.0.0.1:8080"; expected e.g. http:\/\/127.0.0.1:8080\/static\/small$/,
    ],
    ['an https URL', { url: 'https://127.0.0.1/', requests: 10 }, /only http:\/\/ URLs are supported/],
    ['no URL', { url: undefined, requests: 10 }, /expected an http:\/\/ URL/],
    ['neither requests nor duration', { url }, /give a number of requests, a duration, or both/],
    ['more connections than requests', { url, concurrency: 8, requests: 4 }, /concurrency \(8\) cannot be above the number of requests \(4\)/],
    ['pipelining without keep-alive', { url, requests: 10, pipelining: 2 }, /pipelining needs keep-alive/],
    ['constant rate with pipelining', { url, requests: 10, keepAlive: true, pipelining: 2, rate: 100 }, /constant-rate mode sends one request at a time/],
    ['a negative rate', { url, requests: 10, rate: -1 }, /rate must be a number above 0/],
    ['more threads than connections', { url, concurrency: 2, requests: 10, threads: 3 }, /threads \(3\) cannot be more than connections \(2\)/],
    ['an unknown transport', { url, requests: 10, transport: 'curl' }, /transport must be handle, net, undici, got "curl"/],
    ['a header with a newline', { url, requests: 10, headers: { 'X-A': 'a\r\nX-B: b' } }, /header "X-A"/],
    ['a zero duration', { url, durationSeconds: 0 }, /duration must be a number above 0/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    expect(() => parseLoadOptions(input)).toThrow(LoadOptionsError);
    expect(() => parseLoadOptions(input)).toThrow(message);
  });

  it('takes good options with ab-like defaults', () => {
    expect(parseLoadOptions({ url, requests: 5 })).toMatchObject({
      method: 'GET',
      concurrency: 1,
      requests: 5,
      keepAlive: false,
      pipelining: 1,
      threads: 1,
      timeoutSeconds: 30,
      transport: 'handle',
    });
  });
});

describe('parseWebTargets', () => {
  it('takes a server root and page overrides', () => {
    const t = parseWebTargets(['http://127.0.0.1:8080', 'cgi_small=http://127.0.0.1:8080/cgi-bin/printenv']);
    expect(t.base?.href).toBe('http://127.0.0.1:8080/');
    expect(t.pages.cgi_small?.href).toBe('http://127.0.0.1:8080/cgi-bin/printenv');
  });

  it('refuses an unknown page, a malformed URL, two roots and a page given twice', () => {
    expect(() => parseWebTargets(['static_huge=http://127.0.0.1/x'])).toThrow(
      '--web-target: unknown page "static_huge" (pages: static_small, static_large, cgi_small, cgi_large)',
    );
    expect(() => parseWebTargets(['127.0.0.1:8080'])).toThrow(/--web-target: (malformed URL|only http)/);
    expect(() => parseWebTargets(['cgi_small=not a url'])).toThrow(/--web-target cgi_small: malformed URL "not a url"/);
    expect(() => parseWebTargets(['http://a:1', 'http://b:2'])).toThrow(/only one server root/);
    expect(() => parseWebTargets(['cgi_small=http://a/x', 'cgi_small=http://a/y'])).toThrow(/given twice/);
  });
});
