import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { digestOf, digestOfStream, parseDigest } from '../../src/registry/digest.js';
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

describe('digests', () => {
  it('digestOf matches a known value for each algorithm', () => {
    // Known-answer values (printf hello | sha256sum / sha512sum).
    expect(digestOf('sha256', Buffer.from('hello'))).toBe(
      'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    );
    expect(digestOf('sha512', Buffer.from('hello'))).toBe(
      'sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043',
    );
  });

  it.each(['sha256', 'sha512'] as const)(
    '%s of a stream equals the digest of its bytes, whatever the chunking',
    async (alg) => {
      const data = Buffer.from('x'.repeat(1000) + 'y'.repeat(777));
      async function* chunks() {
        yield data.subarray(0, 1);
        yield data.subarray(1, 333);
        yield Buffer.alloc(0);
        yield data.subarray(333);
      }
      expect(await digestOfStream(alg, chunks())).toEqual({
        digest: digestOf(alg, data),
        size: data.length,
      });
    },
  );
});
