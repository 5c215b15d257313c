// The collector's root logger: pino JSON lines to stdout (or readable lines with --log-pretty)
// and, with --log-file, also to a size-rotated file. One child per component.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { RotatingFileStream, type RotationOptions } from './rotating-file';

export type { Logger };

export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: string;
  /** Where JSON lines go instead of stdout (tests, the demo). */
  readonly destination?: pino.DestinationStream;
  /** Human-readable lines on stdout instead of JSON. @default false */
  readonly pretty?: boolean;
  /** Also write JSON lines to this file, rotated by size. */
  readonly file?: string;
  readonly rotation?: RotationOptions;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const base = { name: 'guestbench-collector', level, base: { pid: process.pid } };
  const main: pino.DestinationStream =
    options.destination ??
    (options.pretty === true ? pretty({ colorize: process.stdout.isTTY === true, sync: true }) : pino.destination({ dest: 1, sync: false }));
  if (options.file === undefined) return pino(base, main);
  const streams: pino.StreamEntry[] = [
    { level: level as pino.Level, stream: main },
    { level: level as pino.Level, stream: new RotatingFileStream(options.file, options.rotation) },
  ];
  return pino(base, pino.multistream(streams));
}
