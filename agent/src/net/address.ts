// HOST:PORT addresses of sinks: parsed once, at the boundary, into a typed value.

export interface HostPort {
  /** A name or an IP address, without brackets. */
  readonly host: string;
  readonly port: number;
}

/** Parses "HOST:PORT" or "[IPv6]:PORT"; port 0 only when `allowZero` (listening). */
export function parseHostPort(text: string, allowZero = false): HostPort | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > 65535 || (port === 0 && !allowZero)) return undefined;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

export function formatHostPort(address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Whether `host` means "every interface" and so cannot be dialled as it is. */
export function isUnspecifiedHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}
