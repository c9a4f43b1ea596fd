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

describe('parseDigest: what each refusal says', () => {
  const h256 = 'a'.repeat(64);
  it.each([
    ['no algorithm', `:${h256}`, 'DIGEST_INVALID', 'invalid digest format'],
    ['no colon', 'sha256', 'DIGEST_INVALID', 'invalid digest format'],
    ['an empty encoding', 'sha256:', 'DIGEST_INVALID', 'invalid digest format'],
    [
      'a character outside the grammar',
      `sha256:${h256.slice(1)}/`,
      'DIGEST_INVALID',
      'invalid digest format',
    ],
    ['an upper-case algorithm', `SHA256:${h256}`, 'DIGEST_INVALID', 'invalid digest format'],
    ['a short sha256', 'sha256:abc', 'DIGEST_INVALID', 'invalid sha256 digest'],
    ['a long sha256', `sha256:${h256}0`, 'DIGEST_INVALID', 'invalid sha256 digest'],
    ['a sha256 with a prefix', `sha256:x${h256}`, 'DIGEST_INVALID', 'invalid sha256 digest'],
    ['upper-case hex', `sha256:${'A'.repeat(64)}`, 'DIGEST_INVALID', 'invalid sha256 digest'],
    ['a sha512 of sha256 length', `sha512:${h256}`, 'DIGEST_INVALID', 'invalid sha512 digest'],
    [
      'an unknown algorithm',
      `md5:${'a'.repeat(32)}`,
      'UNSUPPORTED',
      'unsupported digest algorithm "md5"',
    ],
    [
      'a sha256 variant',
      `sha256+b64:${h256}`,
      'UNSUPPORTED',
      'unsupported digest algorithm "sha256+b64"',
    ],
  ])('%s (%s): %s, %s', (_what, value, code, message) => {
    try {
      parseDigest(value);
    } catch (e) {
      const r = e as RegistryError;
      // An unknown algorithm is a client error (400), not the 415 UNSUPPORTED would default to.
      expect([r.code, r.message, r.detail, r.status]).toEqual([
        code,
        message,
        { digest: value },
        400,
      ]);
      return;
    }
    throw new Error(`${value} accepted`);
  });

  it('returns algorithm, encoding and the digest itself', () => {
    expect(parseDigest(`sha256:${'0f'.repeat(32)}`)).toEqual({
      algorithm: 'sha256',
      hex: '0f'.repeat(32),
      digest: `sha256:${'0f'.repeat(32)}`,
    });
  });
});
