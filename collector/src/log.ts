// The collector's root logger: pino JSON to stdout (or a file); one child per component.
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: string;
  /** Where JSON lines go. @default standard output */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { name: 'guestbench-collector', level: options.level ?? 'info', base: { pid: process.pid } },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
