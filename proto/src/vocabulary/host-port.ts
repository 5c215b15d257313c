// HOST:PORT addresses (the collector's gRPC and HTTP, the sinks), parsed once into a typed
// value. IPv6 hosts are written in brackets: "[::1]:50051".
import { quoted, type Parsed } from './parsed';

export interface HostPort {
  /** A name or an IP address, without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface HostPortOptions {
  /** Accept port 0 (an address to listen on: the kernel picks a free port). @default false */
  readonly allowZero?: boolean;
}

// DNS names (underscores too: /etc/hosts and some resolvers accept them) and IPv4 addresses.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/** Why `text` is not HOST:PORT, or undefined when it is; the error says what would be right. */
function problem(host: string, portText: string, allowZero: boolean): string | undefined {
  if (!/^\d{1,5}$/.test(portText)) return portText === '' ? 'has no port' : `has an invalid port ${quoted(portText, 20)}`;
  const port = Number(portText);
  const min = allowZero ? 0 : 1;
  if (port < min || port > 65535) return `has port ${port} outside ${min}-65535`;
  if (host === '') return 'has no host';
  return undefined;
}

/** Parses "HOST:PORT" or "[IPv6]:PORT". The error says what would be right and what is wrong ("… which has no port"). */
export function parseHostPort(text: string, options: HostPortOptions = {}): Parsed<HostPort> {
  const allowZero = options.allowZero === true;
  const fail = (why: string): Parsed<HostPort> => ({
    ok: false,
    error: `expected HOST:PORT such as 192.0.2.10:50051 or [2001:db8::1]:50051, got ${quoted(text)}, which ${why}`,
  });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return fail('is a URL');
  const bracketed = /^\[([^\]]*)\]:(\d*)$/.exec(text);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (!IPV6.test(host) || !host.includes(':')) return fail('has an invalid IPv6 address');
    const why = problem(host, bracketed[2] ?? '', allowZero);
    return why === undefined ? { ok: true, value: { host, port: Number(bracketed[2]) } } : fail(why);
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return fail('has no port');
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.includes(':')) return fail('looks like an IPv6 address without brackets');
  const why = problem(host, portText, allowZero);
  if (why !== undefined) return fail(why);
  if (!HOSTNAME.test(host)) return fail(`has an invalid host ${quoted(host, 40)}`);
  return { ok: true, value: { host, port: Number(portText) } };
}

/** "host:port", with an IPv6 host in brackets: what a gRPC client dials. */
export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Whether `host` means "every interface" and so cannot be dialled as it is. */
export function isUnspecifiedHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}
