#!/usr/bin/env node
// The guestbench-agent command. Committed (not built) so that npm links it at the first
// `npm ci` of a clone, before dist/ exists; it loads the build, or says how to make it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  const root = path.resolve(__dirname, '..', '..');
  process.stderr.write(
    `guestbench-agent: not built yet (${path.relative(process.cwd(), entry) || entry} is missing); run \`npm run build\` in ${root} first\n`,
  );
  process.exit(1);
}
require(entry);
