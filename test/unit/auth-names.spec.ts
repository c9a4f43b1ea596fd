import { describe, expect, it } from '@jest/globals';
import {
  looksLikeApiKey,
  generateApiKey,
  hashApiKey,
  sameHash,
} from '../../src/api-keys/api-key-format.js';
import { InMemoryAttemptLimiter } from '../../src/auth/attempt-limiter.js';
import { parseCredentials } from '../../src/auth/credentials.js';
import { checkNamespaceName, namespaceOf, RESERVED_NAMES } from '../../src/users/names.js';

describe('name reservation', () => {
  it('lower-cases names, so that they are reserved case-insensitively', () => {
    expect(checkNamespaceName('Alice')).toEqual({ ok: true, name: 'alice' });
    expect(checkNamespaceName('  ACME-corp ')).toEqual({ ok: true, name: 'acme-corp' });
  });

  it.each(['', 'a/b', 'a..b', '-a', 'a-', 'a b', 'é', 'a:b', 'x'.repeat(65), '_a'])(
    'refuses the invalid name %p',
    (n) => {
      expect(checkNamespaceName(n)).toMatchObject({ ok: false, reason: 'invalid' });
    },
  );

  it.each(['a', 'a.b', 'a_b', 'a__b', 'a---b', '0x', 'x'.repeat(64)])('accepts %p', (n) => {
    expect(checkNamespaceName(n).ok).toBe(true);
  });

  it('reserves names that clash with API paths, in any case, unless allowed', () => {
    expect(RESERVED_NAMES.has('me')).toBe(true);
    expect(checkNamespaceName('ME')).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkNamespaceName('v2')).toMatchObject({ ok: false, reason: 'reserved' });
    expect(checkNamespaceName('root', { allowReserved: true })).toEqual({ ok: true, name: 'root' });
  });

  it.each(['admin', 'Administrator', 'sysadmin', 'root', 'system', 'registry', 'postmaster', 'v1'])(
    'reserves the system name %p before any administrator exists',
    (n) => {
      expect(checkNamespaceName(n)).toMatchObject({ ok: false, reason: 'reserved' });
      expect(checkNamespaceName(n, { allowReserved: true }).ok).toBe(true);
    },
  );

  it('takes the namespace from the first path segment', () => {
    expect(namespaceOf('acme/team/app')).toBe('acme');
    expect(namespaceOf('alice')).toBe('alice');
  });
});

describe('credentials', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('picks the strategy from the form of the credentials', () => {
    const key = generateApiKey();
    expect(parseCredentials({})).toEqual({ kind: 'none' });
    expect(parseCredentials({ authorization: 'Bearer eyJ.a.b' })).toEqual({
      kind: 'jwt',
      token: 'eyJ.a.b',
    });
    expect(parseCredentials({ authorization: `Bearer ${key}` })).toEqual({ kind: 'api-key', key });
    expect(parseCredentials({ 'x-api-key': key })).toEqual({ kind: 'api-key', key });
    expect(parseCredentials({ authorization: basic('alice:pa:ss') })).toEqual({
      kind: 'basic',
      username: 'alice',
      password: 'pa:ss',
    });
    expect(parseCredentials({ authorization: basic(`alice:${key}`) })).toEqual({
      kind: 'basic',
      username: 'alice',
      password: key,
    });
  });

  it.each([
    [{ authorization: 'Bearer' }],
    [{ authorization: 'Digest abc' }],
    [{ authorization: 'Basic !!!' }],
    [{ authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }],
    [{ authorization: `Basic ${Buffer.from(':pw').toString('base64')}` }],
    [{ 'x-api-key': 'not-a-key' }],
  ])('reports malformed credentials %p as invalid', (headers) => {
    expect(parseCredentials(headers).kind).toBe('invalid');
  });
});

describe('API key format', () => {
  it('is ak_ and 32 alphanumeric characters, different every time', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey()));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(k).toMatch(/^ak_[A-Za-z0-9]{32}$/);
    expect(looksLikeApiKey('ak_short')).toBe(false);
  });

  it('is stored as a SHA-256 hash compared in constant time', () => {
    const k = generateApiKey();
    expect(hashApiKey(k)).toMatch(/^[0-9a-f]{64}$/);
    expect(sameHash(hashApiKey(k), hashApiKey(k))).toBe(true);
    expect(sameHash(hashApiKey(k), hashApiKey(generateApiKey()))).toBe(false);
    expect(sameHash('', '')).toBe(false);
  });
});

describe('failed sign-in limiter', () => {
  it('blocks a key after its limit within the window, then lets it go', async () => {
    let now = 1_000_000;
    const limiter = new InMemoryAttemptLimiter(60_000, () => now);
    const keys = [
      { key: 'account:alice', limit: 3 },
      { key: 'address:1.2.3.4', limit: 5 },
    ];
    try {
      for (let i = 0; i < 3; i++) {
        expect(await limiter.blockedFor(keys)).toBe(0);
        await limiter.recordFailure(keys);
        now += 1000;
      }
      expect(await limiter.blockedFor(keys)).toBe(57); // first failure at +0 s, now +3 s, window 60 s
      // Another account from the same address is not blocked yet (2 address failures to go).
      expect(await limiter.blockedFor([{ key: 'account:bob', limit: 3 }, keys[1]])).toBe(0);
      now += 57_000;
      expect(await limiter.blockedFor(keys)).toBe(0);
      await limiter.reset(['account:alice']);
      expect(await limiter.blockedFor([keys[0]])).toBe(0);
    } finally {
      limiter.close();
    }
  });

  it('consume() counts an attempt only while no key is at its limit, even for attempts at once', async () => {
    let now = 0;
    const limiter = new InMemoryAttemptLimiter(3_600_000, () => now);
    const keys = [{ key: 'register:address:192.0.2.9', limit: 3 }];
    try {
      const waits = await Promise.all(Array.from({ length: 10 }, () => limiter.consume(keys)));
      expect(waits.filter((w) => w === 0)).toHaveLength(3);
      expect(waits.filter((w) => w === 3600)).toHaveLength(7);
      now += 3_600_000;
      expect(await limiter.consume(keys)).toBe(0);
    } finally {
      limiter.close();
    }
  });
});
