import { describe, expect, it } from '@jest/globals';
import type { RecordedEvent } from '../../src/events/events.js';
import {
  isRepositoryPattern,
  matchesRepositories,
  retryDelaySeconds,
  webhookEventsOf,
} from '../../src/webhooks/webhook-rules.js';
import { guardedLookup, signature } from '../../src/webhooks/webhook-sender.js';
import {
  checkTargetUrl,
  firstNonPublic,
  nonPublicReason,
} from '../../src/webhooks/webhook-targets.js';

describe('nonPublicReason', () => {
  it.each([
    // IPv4
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.254', 'shared (CGNAT)'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.255', 'loopback'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['192.0.0.170', 'IETF protocol assignments'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved or broadcast'],
    // IPv6
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd00:ec2::254', 'unique local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    // IPv6 carrying an IPv4 address is judged by it
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata)'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    // not an address
    ['example.com', 'not an IP address'],
    ['', 'not an IP address'],
  ])('%s is %s', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '11.0.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001::1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:0808:0808::1',
  ])('%s is public', (address) => {
    expect(nonPublicReason(address)).toBeNull();
  });

  it('firstNonPublic names the first internal address of a resolution', () => {
    expect(firstNonPublic(['8.8.8.8', '10.0.0.5', '127.0.0.1'])).toEqual({
      address: '10.0.0.5',
      reason: 'private',
    });
    expect(firstNonPublic(['8.8.8.8', '2606:4700:4700::1111'])).toBeNull();
    expect(firstNonPublic([])).toBeNull();
  });
});

describe('checkTargetUrl', () => {
  const refused = (url: string, allowPrivate = false) => {
    const r = checkTargetUrl(url, allowPrivate);
    return r.ok ? null : r.reason;
  };

  it.each([
    ['ftp://example.com/x', 'only http and https URLs are allowed'],
    ['file:///etc/passwd', 'only http and https URLs are allowed'],
    ['gopher://example.com', 'only http and https URLs are allowed'],
    ['not a url', 'not a valid absolute URL'],
    ['/relative', 'not a valid absolute URL'],
    ['https://user:pass@example.com/', 'the URL must not hold a user name or password'],
    ['http://127.0.0.1:8080/hook', '127.0.0.1 is a loopback address'],
    ['http://[::1]/hook', '::1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1 is a loopback address'],
    [
      'http://169.254.169.254/latest/meta-data/',
      '169.254.169.254 is a link-local (cloud metadata) address',
    ],
    ['http://2130706433/', '127.0.0.1 is a loopback address'],
    ['http://0x7f.1/', '127.0.0.1 is a loopback address'],
    ['http://0/', '0.0.0.0 is a unspecified address'],
    ['http://10.0.0.1/', '10.0.0.1 is a private address'],
    ['http://100.100.100.200/', '100.100.100.200 is a shared (CGNAT) address'],
    ['http://[fd00::1]/', 'fd00::1 is a unique local address'],
    ['http://localhost:3000/', 'localhost names an internal host'],
    ['http://LOCALHOST./', 'localhost. names an internal host'],
    ['http://app.localhost/', 'app.localhost names an internal host'],
    ['http://metadata.google.internal/', 'metadata.google.internal names an internal host'],
    [`https://example.com/${'x'.repeat(2048)}`, 'the URL is longer than 2048 characters'],
  ])('%s is refused: %s', (url, reason) => {
    expect(refused(url)).toBe(reason);
  });

  it.each([
    'https://ci.example.com/hooks/aerugo',
    'http://8.8.8.8:8080/x?token=1',
    'https://[2606:4700:4700::1111]/',
  ])('%s is accepted', (url) => {
    expect(refused(url)).toBeNull();
  });

  it('WEBHOOK_ALLOW_PRIVATE_TARGETS lets internal addresses through, never other schemes', () => {
    expect(refused('http://127.0.0.1:8080/hook', true)).toBeNull();
    expect(refused('http://localhost/', true)).toBeNull();
    expect(refused('http://[::1]/', true)).toBeNull();
    expect(refused('ftp://127.0.0.1/', true)).toBe('only http and https URLs are allowed');
    expect(refused('http://u:p@127.0.0.1/', true)).toBe(
      'the URL must not hold a user name or password',
    );
  });

  it('gives the IP literal without brackets', () => {
    const r = checkTargetUrl('https://[2606:4700:4700::1111]:8443/x', false);
    expect(r.ok && r.ip).toBe('2606:4700:4700::1111');
  });
});

describe('repository patterns', () => {
  it.each([
    [[], 'acme/anything/below', true],
    [['app'], 'acme/app', true],
    [['app'], 'acme/app2', false],
    [['app'], 'acme/team/app', false],
    [['web/*'], 'acme/web/front', true],
    [['web/*'], 'acme/web/front/x', false],
    [['web/*'], 'acme/web', false],
    [['web/**'], 'acme/web/front/x', true],
    [['*-api'], 'acme/billing-api', true],
    [['*-api'], 'acme/team/billing-api', false],
    [['a.b'], 'acme/aXb', false],
    [['api', 'web/*'], 'acme/web/x', true],
  ] as [string[], string, boolean][])('%j on %s: %s', (patterns, repo, expected) => {
    expect(matchesRepositories(patterns, repo)).toBe(expected);
  });

  it.each([
    ['web/*', true],
    ['app', true],
    ['team/**', true],
    ['Web', false],
    ['web//x', false],
    ['', false],
    ['a b', false],
    ['x'.repeat(256), false],
  ])('%s is a pattern: %s', (p, ok) => {
    expect(isRepositoryPattern(p)).toBe(ok);
  });
});

describe('retries', () => {
  it.each([
    [1, 30, 30],
    [2, 30, 60],
    [3, 30, 120],
    [8, 30, 3600],
    [1, 1, 1],
    [4, 1, 8],
    [100, 1, 3600],
  ])('after attempt %i with base %i s: %i s', (attempt, base, delay) => {
    expect(retryDelaySeconds(attempt, base)).toBe(delay);
  });
});

describe('what events deliver', () => {
  const actor = {
    principal: { kind: 'user' as const, userId: 'u1', username: 'olga', isAdmin: false },
    credential: 'password' as const,
    requestId: 'r1',
  };
  const at = new Date('2026-01-02T03:04:05Z');
  const rec = (name: string, payload: unknown): RecordedEvent =>
    ({ id: '42', name, actor, payload, requestId: 'r1', occurredAt: at }) as RecordedEvent;

  it('a push: one push event; with moved tags also one tag event', () => {
    const e = rec('manifest.pushed', {
      repositoryId: 'r',
      repository: 'acme/web/app',
      digest: 'sha256:aa',
      tags: ['v1', 'latest'],
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 512,
      created: true,
      moved: [{ tag: 'latest', from: 'sha256:bb' }],
    });
    expect(webhookEventsOf(e, { size: 512, movedTags: ['latest'] })).toEqual([
      {
        eventId: '42-push',
        type: 'push',
        action: 'manifest.pushed',
        occurredAt: '2026-01-02T03:04:05.000Z',
        namespace: 'acme',
        repository: 'acme/web/app',
        tags: ['v1', 'latest'],
        digest: 'sha256:aa',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 512,
        actor: { kind: 'user', name: 'olga' },
      },
      expect.objectContaining({
        eventId: '42-tag',
        type: 'tag',
        action: 'tag.moved',
        tags: ['latest'],
      }),
    ]);
    expect(webhookEventsOf(e).map((b) => b.type)).toEqual(['push']);
  });

  it('a quota refusal: one quota event with the figures', () => {
    const e = rec('quota.refused', {
      namespace: 'acme',
      repositoryId: 'r',
      repository: 'acme/app',
      digest: 'sha256:cc',
      size: 50,
      usage: 100,
      quota: 120,
    });
    expect(webhookEventsOf(e)).toEqual([
      {
        eventId: '42-quota',
        type: 'quota',
        action: 'quota.refused',
        occurredAt: '2026-01-02T03:04:05.000Z',
        namespace: 'acme',
        repository: 'acme/app',
        digest: 'sha256:cc',
        size: 50,
        usage: 100,
        quota: 120,
        actor: { kind: 'user', name: 'olga' },
      },
    ]);
  });

  it('deletes and tag deletes; other events deliver nothing', () => {
    expect(
      webhookEventsOf(
        rec('manifest.deleted', {
          repositoryId: 'r',
          repository: 'a/b',
          digest: 'sha256:bb',
          tags: ['x'],
        }),
      ),
    ).toMatchObject([
      { type: 'delete', action: 'manifest.deleted', digest: 'sha256:bb', tags: ['x'] },
    ]);
    expect(
      webhookEventsOf(rec('tag.deleted', { repositoryId: 'r', repository: 'a/b', tag: 'v1' })),
    ).toMatchObject([{ eventId: '42-tag', type: 'tag', action: 'tag.deleted', tag: 'v1' }]);
    expect(
      webhookEventsOf(rec('repository.deleted', { repositoryId: 'r', repository: 'a/b' })),
    ).toMatchObject([{ type: 'delete', action: 'repository.deleted', namespace: 'a' }]);
    expect(webhookEventsOf(rec('blob.pushed', { repository: 'a/b' }))).toEqual([]);
    expect(webhookEventsOf(rec('user.created', { userId: 'u', username: 'x' }))).toEqual([]);
  });
});

describe('signature', () => {
  it('is the hex HMAC-SHA256 of the raw body', () => {
    // RFC 4231 test case 2.
    expect(signature('Jefe', 'what do ya want for nothing?')).toBe(
      'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});

describe('the lookup a delivery connects with (DNS rebinding)', () => {
  const resolve = (allowPrivate: boolean, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((done) =>
      guardedLookup(allowPrivate)('localhost', { all }, (err, address) => done({ err, address })),
    );

  it('refuses a name that resolves to an internal address', async () => {
    for (const all of [false, true]) {
      const { err } = await resolve(false, all);
      expect(err?.code).toBe('EREFUSEDTARGET');
      expect(err?.message).toMatch(
        /^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/,
      );
    }
  });

  it('hands the checked addresses to the connection when private targets are allowed', async () => {
    expect((await resolve(true, false)).address).toMatch(/^(127\.0\.0\.1|::1)$/);
    const { address } = await resolve(true, true);
    expect(address).toEqual(
      expect.arrayContaining([expect.objectContaining({ family: expect.any(Number) })]),
    );
  });
});
