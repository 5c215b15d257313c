// The generated TypeScript is committed; this fails when it no longer matches the .proto files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

test('committed proto/src/gen matches a fresh `npm run gen -w proto`', () => {
  const protoDir = path.resolve(__dirname, '..');
  const committed = path.join(protoDir, 'src', 'gen');
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'guestbench-gen-'));
  try {
    execFileSync(process.execPath, [path.join(protoDir, 'scripts', 'gen.js'), fresh], { stdio: 'pipe' });
    const freshFiles = listFiles(fresh).sort();
    expect(listFiles(committed).sort()).toEqual(freshFiles);
    for (const file of freshFiles) {
      const want = fs.readFileSync(path.join(fresh, file), 'utf8');
      const have = fs.readFileSync(path.join(committed, file), 'utf8');
      if (have !== want) {
        throw new Error(`proto/src/gen/${file} is stale: run \`npm run gen -w proto\` and commit the result`);
      }
    }
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
});
