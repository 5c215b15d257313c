#!/usr/bin/env node
// Regenerates proto/src/gen from guestbench/v1/*.proto with buf and ts-proto, both from npm.
// Usage: node scripts/gen.js [OUT_DIR]   (default: src/gen; the staleness test passes a temp dir)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const protoRoot = path.resolve(__dirname, '..');
const outDir = path.resolve(process.argv[2] ?? path.join(protoRoot, 'src', 'gen'));
const buf = require.resolve('@bufbuild/buf/bin/buf');
const plugin = path.join(path.dirname(require.resolve('ts-proto/package.json')), 'protoc-gen-ts_proto');

const template = {
  version: 'v2',
  plugins: [
    {
      local: [process.execPath, plugin],
      out: outDir,
      opt: [
        'outputServices=grpc-js',
        'esModuleInterop=true',
        'env=node',
        'useOptionals=messages',
        'forceLong=number',
        'oneof=unions-value',
        'useExactTypes=false',
        'snakeToCamel=true',
      ],
    },
  ],
};

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
execFileSync(buf, ['generate', '--template', JSON.stringify(template)], { cwd: protoRoot, stdio: 'inherit' });
console.log(`generated TypeScript in ${path.relative(process.cwd(), outDir) || '.'}`);
