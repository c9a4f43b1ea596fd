#!/usr/bin/env node
// Launcher of the `aerugo` command (package.json "bin"). The CLI is TypeScript compiled by
// `npm run build` into dist/cli/; in a clone where it has not been built yet, this builds it
// once (`npm run build:cli`, a few seconds) instead of failing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = join(root, 'dist', 'cli', 'main.js');

if (!existsSync(entry)) {
  const buildable =
    existsSync(join(root, 'cli', 'tsconfig.json')) &&
    existsSync(join(root, 'node_modules', 'typescript')) &&
    existsSync(join(root, 'node_modules', 'openapi-typescript'));
  if (!buildable) {
    process.stderr.write(
      `aerugo: the CLI is not built (${entry} is missing): run \`npm ci && npm run build\` in ${root}\n`,
    );
    process.exit(1);
  }
  process.stderr.write('aerugo: building the CLI first (npm run build:cli)…\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const built = spawnSync(npm, ['run', '--silent', 'build:cli'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0 || !existsSync(entry)) {
    process.stderr.write(`aerugo: the build failed; run \`npm run build\` in ${root} to see why\n`);
    process.exit(1);
  }
}

await import(pathToFileURL(entry).href);
