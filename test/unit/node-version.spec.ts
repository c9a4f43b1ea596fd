import { describe, expect, it } from '@jest/globals';
import { FileTypeValidator } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { MIN_NODE_VERSION, nodeVersionProblem } from '../../src/node-version.js';

const ROOT = new URL('../..', import.meta.url);

describe('the Node.js version README and package.json name', () => {
  it.each([
    ['20.19.0', false],
    ['v20.19.5', false],
    ['20.20.2', false],
    ['22.0.0', false],
    ['24.1.0', false],
    ['20.18.3', true],
    ['v18.20.0', true],
    ['20', true],
  ])('%s is refused: %s', (version, refused) => {
    const problem = nodeVersionProblem(version);
    expect(problem !== undefined).toBe(refused);
    if (problem) expect(problem).toContain('20.19');
  });

  it('matches package.json engines and the README', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
      engines: { node: string };
    };
    expect(semver.minVersion(pkg.engines.node)?.version).toBe(MIN_NODE_VERSION);
    expect(readFileSync(new URL('README.md', ROOT), 'utf8')).toContain('Node 20 (20.19 or newer');
  });

  it('every locked dependency accepts that version (npm ci prints no EBADENGINE)', () => {
    const lock = JSON.parse(readFileSync(new URL('package-lock.json', ROOT), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    const refusing = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(
        ([, p]) =>
          !semver.satisfies(MIN_NODE_VERSION, (p.engines as { node: string }).node, {
            includePrerelease: true,
          }),
      )
      .map(([name, p]) => `${name} (${(p.engines as { node: string }).node})`);
    expect(refusing).toEqual([]);
  });

  it("Nest's FileTypeValidator still works with the file-type the lock pins", async () => {
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489',
      'hex',
    );
    const gif = Buffer.from('474946383961010001000000002c00000000010001000002', 'hex');
    const validator = new FileTypeValidator({ fileType: 'image/png' });
    expect(await validator.isValid({ mimetype: 'image/png', buffer: png } as never)).toBe(true);
    expect(await validator.isValid({ mimetype: 'image/png', buffer: gif } as never)).toBe(false);
  });
});
