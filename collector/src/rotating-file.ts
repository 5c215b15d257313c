// A log file that rotates by size: FILE → FILE.1 → … → FILE.<keep>, oldest dropped.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';

export interface RotationOptions {
  /** Rotate once the file would grow beyond this. @default 10 MiB */
  readonly maxBytes?: number;
  /** Rotated files kept beside the live one. @default 5 */
  readonly keep?: number;
}

export class RotatingFileStream extends Writable {
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly file: string,
    options: RotationOptions = {},
  ) {
    super({ decodeStrings: true });
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 5;
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.fd = fs.openSync(file, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    fs.rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    }
    fs.renameSync(this.file, `${this.file}.1`);
    this.fd = fs.openSync(this.file, 'a');
    this.size = 0;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      if (this.size > 0 && this.size + chunk.length > this.maxBytes) this.rotate();
      fs.writeSync(this.fd, chunk);
      this.size += chunk.length;
      callback();
    } catch (err: unknown) {
      callback(err as Error);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      fs.closeSync(this.fd);
      callback();
    } catch (err: unknown) {
      callback(err as Error);
    }
  }
}
