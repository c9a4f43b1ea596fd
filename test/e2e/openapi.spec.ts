import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../support/server.js';
import { PROJECT_ROOT } from '../support/test-env.js';

const run = promisify(execFile);
const SCRIPT = join(PROJECT_ROOT, 'dist/scripts/openapi.js');

/** `npm run openapi`'s output, produced with no database configured (nor reachable). */
async function produced(): Promise<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(DATABASE_URL|REDIS_URL|S3_|NODE_OPTIONS)/.test(k)) env[k] = v;
  const { stdout } = await run(process.execPath, [SCRIPT, '--stdout'], {
    env: { ...env, DATA_DIR: tempDir('aerugo-openapi-') },
    cwd: tempDir('aerugo-openapi-cwd-'),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  return stdout;
}

function firstDifference(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  for (let i = 0; i < Math.max(al.length, bl.length); i++)
    if (al[i] !== bl[i])
      return `line ${i + 1}: committed ${JSON.stringify(al[i])}, produced ${JSON.stringify(bl[i])}`;
  return 'none';
}

let first: string;

beforeAll(async () => {
  first = await produced();
}, 120_000);

describe('the committed OpenAPI document (api/openapi.json)', () => {
  it('is what the application produces: run `npm run openapi` after changing the API', () => {
    const committed = readFileSync(join(PROJECT_ROOT, 'api/openapi.json'), 'utf8');
    const now = first;
    if (committed !== now)
      throw new Error(
        'api/openapi.json is out of date: run `npm run openapi` and commit the result ' +
          `(first difference at ${firstDifference(committed, now)})`,
      );
  });

  it('is stable: produced twice, byte for byte the same, with sorted paths', async () => {
    const a = first;
    expect(await produced()).toBe(a);
    const doc = JSON.parse(a);
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual([...paths].sort());
    expect(Object.keys(doc.components.schemas)).toEqual(Object.keys(doc.components.schemas).sort());
    expect(Object.keys(doc).slice(0, 2)).toEqual(['openapi', 'info']);
  });

  it('`--check` passes on the committed document', async () => {
    await expect(
      run(process.execPath, [SCRIPT, '--check'], { timeout: 60_000 }),
    ).resolves.toBeDefined();
  });
});
