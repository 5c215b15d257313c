#!/usr/bin/env node
// Bundles the built agent CLI (agent/dist/cli/main.js, from `npm run build`) into one file that
// runs with a plain `node` >= 20 and no node_modules beside it: what guests get.
//
// Minified and verified by default (run from an empty folder, with no node_modules beside it).
//
// Usage: node scripts/bundle-agent.js [--entry FILE] [--outfile FILE] [--no-minify] [--no-verify] [--json]
'use strict';

const { createHash } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');

function parseArguments(argv) {
  const options = {
    entry: path.join(repo, 'agent/dist/cli/main.js'),
    outfile: path.join(repo, 'agent/dist/bundle/guestbench-agent.js'),
    minify: true,
    verify: true,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return path.resolve(v);
    };
    switch (arg) {
      case '--entry':
        options.entry = value();
        break;
      case '--outfile':
        options.outfile = value();
        break;
      case '--minify':
        options.minify = true;
        break;
      case '--no-minify':
        options.minify = false;
        break;
      case '--verify':
        options.verify = true;
        break;
      case '--no-verify':
        options.verify = false;
        break;
      case '--json':
        options.json = true;
        break;
      case '-h':
      case '--help':
        options.help = true;
        break;
      default:
        throw new Error(`unknown argument ${arg} (see --help)`);
    }
  }
  return options;
}

const HELP = `Usage: node scripts/bundle-agent.js [options]
  --entry FILE    built CLI to bundle (default agent/dist/cli/main.js; run \`npm run build\` first)
  --outfile FILE  where the bundle goes (default agent/dist/bundle/guestbench-agent.js)
  --no-minify     readable output (default: minified, about half the size; names are kept,
                  so stack traces still name the functions)
  --no-verify     skip the check (default: run \`node BUNDLE --version\`, \`list\` and \`bench\`
                  of one benchmark from an empty folder, no node_modules beside it)
  --json          print {path, bytes, sha256, verified} instead of a line of text
`;

async function bundle(options) {
  if (!fs.existsSync(options.entry)) {
    throw new Error(`${path.relative(process.cwd(), options.entry)} does not exist; run \`npm run build\` first`);
  }
  const esbuild = require('esbuild');
  const startsWithShebang = fs.readFileSync(options.entry, 'utf8').startsWith('#!');
  const result = await esbuild.build({
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // esbuild keeps the entry's own #! line; add one only when the entry has none.
    banner: startsWithShebang ? undefined : { js: '#!/usr/bin/env node' },
    minify: options.minify,
    keepNames: true,
    legalComments: 'eof',
    logLevel: 'warning',
    metafile: true,
  });
  fs.chmodSync(options.outfile, 0o755);
  const bytes = fs.statSync(options.outfile).size;
  const sha256 = createHash('sha256').update(fs.readFileSync(options.outfile)).digest('hex');
  const inputs = Object.keys(result.metafile.inputs).length;
  return { path: options.outfile, bytes, sha256, inputs, minified: options.minify };
}

/** Runs the bundle's --help from a fresh folder outside the repo, so no node_modules can help it. */
function verify(bundlePath) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-bundle-'));
  try {
    const copy = path.join(dir, path.basename(bundlePath));
    fs.copyFileSync(bundlePath, copy);
    const run = (args) =>
      execFileSync(process.execPath, [copy, ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
        timeout: 120_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const version = run(['--version']).trim();
    if (!/^guestbench-agent \d/.test(version)) throw new Error(`the bundle's --version said ${JSON.stringify(version)}`);
    if (!run(['list']).includes('cpu.int32')) throw new Error("the bundle's list names no cpu.int32");
    // Two benchmarks end to end: settings, the runner, and the web server and load generator,
    // which start the bundle again as their process and worker threads.
    const bench = JSON.parse(run(['bench', '--only', 'sys.clock,web.static_small', '--json']));
    if (!Array.isArray(bench.samples) || bench.samples.length === 0 || bench.failed.length !== 0)
      throw new Error("the bundle's bench of sys.clock and web.static_small failed");
    return version;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  const options = parseArguments(argv);
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const info = await bundle(options);
  if (options.verify) info.verified = verify(info.path);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
  } else {
    const kib = (info.bytes / 1024).toFixed(0);
    process.stdout.write(
      `bundle-agent: ${path.relative(process.cwd(), info.path)} ${kib} KiB from ${info.inputs} files, sha256 ${info.sha256.slice(0, 12)}${info.minified ? ', minified' : ''}${info.verified !== undefined ? `; verified (version, list, bench): ${info.verified}` : ''}\n`,
    );
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bundle-agent: ${err.message}\n`);
      process.exit(1);
    },
  );
}

module.exports = { bundle, verify, parseArguments };
