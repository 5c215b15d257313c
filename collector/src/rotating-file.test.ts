import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RotatingFileStream } from './rotating-file';

function write(stream: RotatingFileStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
}

test('rotates by size and keeps only the newest files', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rot-'));
  const file = path.join(dir, 'collector.log');
  const stream = new RotatingFileStream(file, { maxBytes: 100, keep: 2 });
  try {
    for (let i = 0; i < 10; i++) await write(stream, `${String(i).repeat(59)}\n`); // 60 bytes a line
    await new Promise<void>((resolve) => stream.end(resolve));
    expect(fs.readdirSync(dir).sort()).toEqual(['collector.log', 'collector.log.1', 'collector.log.2']);
    // each file holds one line, the newest in the live file
    expect(fs.readFileSync(file, 'utf8')).toBe(`${'9'.repeat(59)}\n`);
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe(`${'8'.repeat(59)}\n`);
    expect(fs.readFileSync(`${file}.2`, 'utf8')).toBe(`${'7'.repeat(59)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('appends to an existing file and counts its size', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-rot-'));
  const file = path.join(dir, 'c.log');
  fs.writeFileSync(file, 'x'.repeat(90));
  const stream = new RotatingFileStream(file, { maxBytes: 100, keep: 1 });
  await write(stream, 'y'.repeat(20));
  await new Promise<void>((resolve) => stream.end(resolve));
  expect(fs.readFileSync(`${file}.1`, 'utf8')).toBe('x'.repeat(90));
  expect(fs.readFileSync(file, 'utf8')).toBe('y'.repeat(20));
  fs.rmSync(dir, { recursive: true, force: true });
});
