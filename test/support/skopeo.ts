import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './test-env.js';

const run = promisify(execFile);

export function skopeoAvailable(): boolean {
  return ['/usr/bin/skopeo', '/usr/local/bin/skopeo'].some((p) => existsSync(p));
}

/** skopeo tests run wherever skopeo is installed; in CI a missing skopeo is a failure, not a skip. */
export function describeIfSkopeo(): boolean {
  if (skopeoAvailable()) return true;
  if (process.env.CI === 'true')
    throw new Error('skopeo is required in CI (apt-get install -y skopeo)');
  console.warn(
    'skopeo is not installed: skipping the real-client tests (apt-get install -y skopeo)',
  );
  return false;
}

let defaultCreds: string | undefined;

/** user:password (or user:API key) that later skopeo() calls send to the registry. */
export function useSkopeoCreds(creds: string | undefined): void {
  defaultCreds = creds;
}

/** Adds the credentials to the registry side(s) of a skopeo command line. */
function withCreds(args: string[]): string[] {
  if (!defaultCreds || args.some((a) => a.includes('-creds') || a === '--no-creds')) return args;
  const [cmd, ...rest] = args;
  if (cmd !== 'copy') return [cmd, '--creds', defaultCreds, ...rest];
  const positional = rest.filter((a) => !a.startsWith('-'));
  const [src, dest] = positional.slice(-2);
  return [
    cmd,
    ...(src?.startsWith('docker://') ? ['--src-creds', defaultCreds] : []),
    ...(dest?.startsWith('docker://') ? ['--dest-creds', defaultCreds] : []),
    ...rest,
  ];
}

export async function skopeo(...rawArgs: string[]): Promise<string> {
  const args = withCreds(rawArgs);
  try {
    const { stdout } = await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`skopeo ${rawArgs.join(' ')} failed: ${err.stderr ?? err.message}`, {
      cause: e,
    });
  }
}

/** The project's synthetic-image writer (see its header for the options). */
export const MKIMAGE = resolve(PROJECT_ROOT, 'scripts/mkimage.mjs');

/**
 * Writes an OCI layout with synthetic layers (`scripts/mkimage.mjs DIR TAG SIZES …`); returns the
 * top manifest (or index) digest, or the image ID of a `--docker-archive`.
 */
export async function mkimage(
  dir: string,
  tag: string,
  sizes: string,
  ...extra: string[]
): Promise<string> {
  const { stdout } = await run(process.execPath, [MKIMAGE, dir, tag, sizes, ...extra], {
    maxBuffer: 1024 * 1024,
  });
  return stdout.trim();
}
