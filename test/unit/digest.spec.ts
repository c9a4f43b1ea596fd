import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { digestOf, parseDigest, ResumableHash } from '../../src/registry/digest.js';
import { RegistryError } from '../../src/registry/errors.js';

const hex = (alg: string, data: Buffer | string) => createHash(alg).update(data).digest('hex');

describe('parseDigest', () => {
  it('accepts sha256 and sha512', () => {
    expect(parseDigest(`sha256:${hex('sha256', 'a')}`).algorithm).toBe('sha256');
    expect(parseDigest(`sha512:${hex('sha512', 'a')}`).algorithm).toBe('sha512');
  });

  it.each([
    ['sha256:abc', 'DIGEST_INVALID'],
    [`sha256:${'A'.repeat(64)}`, 'DIGEST_INVALID'],
    [`sha512:${'a'.repeat(64)}`, 'DIGEST_INVALID'],
    ['nocolon', 'DIGEST_INVALID'],
    [':abc', 'DIGEST_INVALID'],
    [`md5:${'a'.repeat(32)}`, 'UNSUPPORTED'],
  ])('rejects %s with %s', (d, code) => {
    try {
      parseDigest(d);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(RegistryError);
      expect((e as RegistryError).code).toBe(code);
      expect((e as RegistryError).status).toBe(400);
    }
  });
});

describe('ResumableHash', () => {
  it.each(['sha256', 'sha512'] as const)(
    '%s state saved mid-stream resumes to the same digest',
    async (alg) => {
      const data = Buffer.from('x'.repeat(1000) + 'y'.repeat(777));
      const first = await ResumableHash.create(alg);
      first.update(data.subarray(0, 333));
      const saved = first.save();
      // A different process would load the state from the database.
      const second = await ResumableHash.create(alg, Buffer.from(saved));
      second.update(data.subarray(333));
      expect(second.digest()).toBe(`${alg}:${hex(alg, data)}`);
    },
  );

  it('digestOf matches node:crypto', async () => {
    expect(await digestOf('sha256', Buffer.from('hello'))).toBe(`sha256:${hex('sha256', 'hello')}`);
    expect(await digestOf('sha512', Buffer.from('hello'))).toBe(`sha512:${hex('sha512', 'hello')}`);
  });
});
