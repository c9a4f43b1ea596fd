import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/test-env.js';

const run = promisify(execFile);
const read = (f: string) => readFileSync(join(PROJECT_ROOT, f), 'utf8');

/** Every variable the configuration reads: the upper-case names quoted in its source. */
function configVariables(): string[] {
  const src = ['src/config/config.ts', 'src/main.ts'].map(read).join('\n');
  const names = new Set<string>();
  for (const m of src.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'/g))
    if (!m[1].startsWith('SIG')) names.add(m[1]);
  for (const m of src.matchAll(/process\.env\.([A-Z0-9_]+)/g)) names.add(m[1]);
  return [...names].sort();
}

describe('deployment files and documentation', () => {
  it('README and .env.example document every configuration variable, and nothing else', () => {
    const vars = configVariables();
    expect(vars.length).toBeGreaterThan(10);
    const readme = read('README.md');
    const example = read('.env.example');
    for (const v of vars) {
      expect({ v, inReadme: readme.includes(`\`${v}\``) }).toEqual({ v, inReadme: true });
      expect({ v, inExample: new RegExp(`^#? ?${v}=`, 'm').test(example) }).toEqual({
        v,
        inExample: true,
      });
    }
    for (const m of example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)) {
      expect({ v: m[1], known: vars.includes(m[1]) }).toEqual({ v: m[1], known: true });
    }
  });

  const compose = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) =>
    existsSync(p),
  );
  if (!compose && process.env.CI === 'true')
    throw new Error('docker-compose is required in CI to validate docker-compose.yml');
  (compose ? it : it.skip)(
    'docker-compose.yml is valid and wires two nodes to PostgreSQL, Redis and S3',
    async () => {
      const env = { ...process.env, POSTGRES_PASSWORD: 'p', MINIO_ROOT_PASSWORD: 'm' };
      const { stdout } = await run(
        compose!,
        ['-f', join(PROJECT_ROOT, 'docker-compose.yml'), 'config'],
        { env },
      );
      for (const s of [
        'postgres:',
        'redis:',
        'minio:',
        'minio-init:',
        'aerugo1:',
        'aerugo2:',
        'lb:',
      ])
        expect(stdout).toContain(s);
      expect(stdout).toContain('STORAGE_DRIVER: s3');
      expect(stdout).toContain('NODE_IMAGE: node:20-bookworm-slim');
      expect(stdout).toContain('REDIS_URL: redis://redis:6379');
      // Secrets are required, never defaulted.
      await expect(
        run(compose!, ['-f', join(PROJECT_ROOT, 'docker-compose.yml'), 'config', '-q'], {
          env: { PATH: process.env.PATH },
        }),
      ).rejects.toThrow(/POSTGRES_PASSWORD|MINIO_ROOT_PASSWORD/);
    },
  );

  it('the Dockerfile is multi-stage from base images given as build args, runs as non-root with a HEALTHCHECK and production dependencies', () => {
    const df = read('Dockerfile');
    expect(df.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(df).toMatch(/^ARG NODE_BUILD_IMAGE=node:20-bookworm$/m);
    expect(df).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(df).toMatch(/^FROM \$\{NODE_BUILD_IMAGE\} AS build$/m);
    expect(df).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(df).toMatch(/^USER node$/m);
    expect(df).toMatch(/^HEALTHCHECK /m);
    expect(df).toContain('npm prune --omit=dev');
    // The test image build (docker-image.spec.ts) runs it; this only pins the shape.
  });
});
