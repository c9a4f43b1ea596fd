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

export async function skopeo(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(' ')} failed: ${err.stderr ?? err.message}`, { cause: e });
  }
}

export function mkimagePath(): string {
  const candidates = [
    resolve(PROJECT_ROOT, '../shared/tools/mkimage.py'),
    '/work/shared/tools/mkimage.py',
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`mkimage.py not found in ${candidates.join(' or ')}`);
  return found;
}

/** Writes an OCI layout with synthetic layers; returns the top manifest (or index) digest. */
export async function mkimage(
  dir: string,
  tag: string,
  sizes: string,
  ...extra: string[]
): Promise<string> {
  const { stdout } = await run('python3', [mkimagePath(), dir, tag, sizes, ...extra], {
    maxBuffer: 1024 * 1024,
  });
  return stdout.trim();
}
