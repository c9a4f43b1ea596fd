import { describe, expect, it } from '@jest/globals';
import {
  failureDelaySeconds,
  InMemoryAttemptLimiter,
  signInLimitKeys,
} from '../../src/auth/attempt-limiter.js';
import {
  checkKeyScope,
  FULL_KEY_SCOPE,
  isFullScope,
  type KeyAction,
  type KeyScope,
  scopeAllowsApi,
  scopedActions,
} from '../../src/auth/scopes.js';
import { isRepositoryPattern, parseRobotName } from '../../src/common/name-grammar.js';
import {
  matchesRepositoryPattern,
  patternGrantLevel,
  type AccessFacts,
  type AccessSubject,
  type PermissionLevel,
  resolveLevel,
  type RepoAction,
} from '../../src/repos/permissions.js';
import { normalizeRobotGrants, robotFullName, robotUsable } from '../../src/robots/robot-rules.js';

describe('repository patterns', () => {
  it.each([
    ['acme/web', 'acme/web', true],
    ['acme/web', 'acme/web2', false],
    ['acme/web/*', 'acme/web/app', true],
    ['acme/web/*', 'acme/web/a/b', true],
    ['acme/web/*', 'acme/web', false],
    ['acme/web/*', 'acme/webx/app', false],
    ['acme/*', 'other/app', false],
    ['*', 'anything/at/all', true],
    ['acme/*-prod', 'acme/api-prod', true],
    ['acme/*-prod', 'acme/api-prod/x', false],
    ['acme/*/*-prod', 'acme/a/b-prod', true],
    ['acme/*b*', 'acme/b', true],
    ['a*a', 'a', false],
    // The fixed parts may not overlap: the name must be at least as long as both ends.
    ['ab*ba', 'aba', false],
    ['ab*ba', 'abba', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'ac', false],
    ['a*bc*c', 'abc', false],
    ['x*ab*ab*', 'xab', false],
    ['x*ab*ab*', 'xabab', true],
    ['x*ab*ab*y', 'xaby', false],
    ['*/*', 'acme', false],
    ['*/*', 'acme/web', true],
    ['acme*', 'acm', false],
    ['*web', 'acme/web', true],
    ['*web', 'acme/webs', false],
    ['*acme*', 'acme/web', true],
    ['*acme*', 'web/acm', false],
  ])('%s matches %s: %s', (pattern, name, want) => {
    expect(matchesRepositoryPattern(pattern, name)).toBe(want);
  });

  it.each([
    ['acme/web/*', true],
    ['*', true],
    ['acme/*-prod', true],
    ['Acme/web', false],
    ['acme//web', false],
    ['acme/web/', false],
    ['acme web', false],
    ['', false],
  ])('%s is a valid pattern: %s', (pattern, want) => {
    expect(isRepositoryPattern(pattern)).toBe(want);
  });

  it('gives the highest level of the grants that match', () => {
    const grants = [
      { repository: 'acme/*', level: 'read' as const },
      { repository: 'acme/web/*', level: 'write' as const },
      { repository: 'acme/web/admin', level: 'admin' as const },
    ];
    expect(patternGrantLevel(grants, 'acme/db')).toBe('read');
    expect(patternGrantLevel(grants, 'acme/web/app')).toBe('write');
    expect(patternGrantLevel(grants, 'acme/web/admin')).toBe('admin');
    expect(patternGrantLevel(grants, 'other/web/app')).toBeNull();
    expect(patternGrantLevel([], 'acme/db')).toBeNull();
  });
});

describe('API key scopes', () => {
  const all: RepoAction[] = ['pull', 'push', 'delete'];
  const scope = (actions: KeyAction[], repositories: string[] | null = null): KeyScope => ({
    actions,
    repositories,
  });
  const cases: [string, KeyScope | undefined, string, RepoAction[], RepoAction[]][] = [
    ["no scope: the owner's actions", undefined, 'acme/web', all, all],
    ['full scope', FULL_KEY_SCOPE, 'acme/web', ['pull'], ['pull']],
    ['pull only × an admin', scope(['pull']), 'acme/web', all, ['pull']],
    ['push without pull stays push', scope(['push']), 'a/b', all, ['push']],
    ['never more than the owner', scope(['pull', 'push']), 'a/b', ['pull'], ['pull']],
    [
      'pattern covers',
      scope(['pull', 'push'], ['acme/web/*']),
      'acme/web/app',
      all,
      ['pull', 'push'],
    ],
    ['pattern misses', scope(['pull', 'push'], ['acme/web/*']), 'acme/db', all, []],
    ['exact name', scope(['pull'], ['acme/db', 'x/y']), 'acme/db', all, ['pull']],
    ['owner has nothing', scope(['pull']), 'acme/db', [], []],
  ];
  it.each(cases)('%s', (_what, s, repo, allowed, want) => {
    expect(scopedActions(s, repo, allowed)).toEqual(want);
  });

  it.each([
    [undefined, undefined, { actions: ['pull', 'push', 'delete', 'api'], repositories: null }],
    [['pull'], undefined, { actions: ['pull'], repositories: null }],
    [
      ['push', 'pull', 'pull'],
      ['acme/*', 'acme/*'],
      { actions: ['pull', 'push'], repositories: ['acme/*'] },
    ],
  ])('accepts actions %j and repositories %j', (actions, repositories, scope) => {
    expect(checkKeyScope(actions, repositories)).toEqual({ ok: true, scope });
  });

  it.each([
    [['pull', 'admin'], undefined, /unknown actions: admin/],
    [[], undefined, /must not be empty/],
    [undefined, [], /must not be empty/],
    [undefined, ['Acme/Web'], /not repository names or patterns/],
    [['pull', 'api'], undefined, /management API access/],
    [undefined, ['acme/*'], /management API access/],
    [undefined, Array.from({ length: 51 }, (_, i) => `a/r${i}`), /at most 50/],
  ])('refuses actions %j and repositories %j', (actions, repositories, message) => {
    const r = checkKeyScope(actions, repositories);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it.each<[string[] | undefined, string[] | undefined, string]>([
    [
      ['pull', 'admin', 'fly'],
      undefined,
      'unknown actions: admin, fly (use pull, push, delete, api)',
    ],
    [[], ['acme/*'], 'actions must not be empty'],
    [['pull'], [], 'repositories must not be empty'],
    [['pull'], ['acme/*', 'Acme/Web', 'a b'], 'not repository names or patterns: Acme/Web, a b'],
    [
      ['pull', 'push', 'delete', 'api'],
      ['*'],
      'management API access ("api") only goes with keys limited to no repositories or actions',
    ],
    [
      ['api'],
      undefined,
      'management API access ("api") only goes with keys limited to no repositories or actions',
    ],
    [['pull'], Array.from({ length: 51 }, (_, i) => `a/r${i}`), 'at most 50 repositories'],
  ])('refuses actions %j and repositories %j saying why', (actions, repositories, message) => {
    expect(checkKeyScope(actions, repositories)).toEqual({ ok: false, message });
  });

  it('takes up to 50 repositories, in the order given; api with every action and no list', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `a/r${i}`);
    expect(checkKeyScope(['delete', 'pull'], fifty)).toEqual({
      ok: true,
      scope: { actions: ['pull', 'delete'], repositories: fifty },
    });
    expect(checkKeyScope(['api', 'delete', 'push', 'pull'], undefined)).toEqual({
      ok: true,
      scope: FULL_KEY_SCOPE,
    });
    expect(scopeAllowsApi(FULL_KEY_SCOPE)).toBe(true);
    expect(isFullScope({ actions: ['pull', 'push', 'api'], repositories: null })).toBe(false);
  });

  it('a key scope keeps the registry order and never adds what the owner lacks', () => {
    expect(scopedActions(undefined, 'a/b', ['delete', 'pull'])).toEqual(['pull', 'delete']);
    expect(scopedActions(scope(['delete', 'pull']), 'a/b', ['delete', 'push', 'pull'])).toEqual([
      'pull',
      'delete',
    ]);
    expect(scopedActions(scope(['pull'], ['x/*', 'a/b']), 'a/b', all)).toEqual(['pull']);
    expect(scopedActions(scope(['pull', 'push', 'delete', 'api'], []), 'a/b', all)).toEqual([]);
  });

  it('tells full scopes and management API access apart', () => {
    expect(isFullScope(FULL_KEY_SCOPE)).toBe(true);
    expect(isFullScope({ actions: ['pull', 'push', 'delete'], repositories: null })).toBe(false);
    expect(isFullScope({ actions: [...FULL_KEY_SCOPE.actions], repositories: ['*'] })).toBe(false);
    expect(scopeAllowsApi(undefined)).toBe(true);
    expect(scopeAllowsApi({ actions: ['pull'], repositories: null })).toBe(false);
  });
});

describe('robot accounts', () => {
  it.each([
    ['acme+ci', { namespace: 'acme', name: 'ci' }],
    [' ACME+CI ', { namespace: 'acme', name: 'ci' }],
    ['acme+ci+x', null],
    ['acme', null],
    ['+ci', null],
    ['acme+', null],
    ['ac me+ci', null],
    [`${'a'.repeat(65)}+ci`, null],
  ])('parses %j', (full, want) => {
    expect(parseRobotName(full)).toEqual(want);
  });

  it('names robots namespace+name', () => {
    expect(robotFullName('acme', 'ci')).toBe('acme+ci');
  });

  it('puts grants inside the namespace', () => {
    expect(
      normalizeRobotGrants('acme', [
        { repository: 'web/*', level: 'read' },
        { repository: 'acme/db', level: 'write' },
        { repository: 'WEB/*', level: 'admin' },
        { repository: '*', level: 'read' },
      ]),
    ).toEqual({
      ok: true,
      grants: [
        { repository: 'acme/web/*', level: 'admin' },
        { repository: 'acme/db', level: 'write' },
        { repository: 'acme/*', level: 'read' },
      ],
    });
    // `other/x` inside acme is acme/other/x, never another namespace's repository.
    expect(normalizeRobotGrants('acme', [{ repository: 'other/x', level: 'read' }])).toEqual({
      ok: true,
      grants: [{ repository: 'acme/other/x', level: 'read' }],
    });
    expect(normalizeRobotGrants('acme', [{ repository: 'a b', level: 'read' }]).ok).toBe(false);
    expect(normalizeRobotGrants('acme', [{ repository: '', level: 'read' }]).ok).toBe(false);
    expect(normalizeRobotGrants('acme', [{ repository: 'x', level: 'owner' }]).ok).toBe(false);
  });

  it.each([
    [{ disabled: false, expiresAt: null }, true],
    [{ disabled: true, expiresAt: null }, false],
    [{ disabled: false, expiresAt: 2000 }, true],
    [{ disabled: false, expiresAt: 1000 }, false],
    [{ disabled: false, expiresAt: 999 }, false],
  ])('usable %j at 1000: %s', (robot, want) => {
    expect(robotUsable(robot, 1000)).toBe(want);
  });
});

describe('repository creators', () => {
  const user = { kind: 'user' as const, userId: 'u1', username: 'dave', isAdmin: false };
  const robot = { kind: 'robot' as const, robotId: 'r1', namespace: 'acme' };
  const existing: AccessFacts['repository'] = {
    visibility: 'private',
    userGrant: null,
    teamGrants: [],
  };
  const rows: [
    string,
    AccessSubject,
    'user' | 'org',
    boolean,
    AccessFacts['repository'],
    PermissionLevel,
  ][] = [
    ['creator, new name in the org', user, 'org', true, undefined, 'write'],
    ['creator, existing repository without grant', user, 'org', true, existing, 'none'],
    ['plain member, new name', user, 'org', false, undefined, 'none'],
    ['creator flag in a user namespace', user, 'user', true, undefined, 'none'],
    ['robot, even if flagged', robot, 'org', true, undefined, 'none'],
  ];
  it.each(rows)('%s', (_what, subject, kind, creator, repository, want) => {
    expect(
      resolveLevel(subject, {
        namespace: 'acme',
        namespaceKind: kind,
        orgRole: kind === 'org' ? 'member' : null,
        creator,
        repository,
      }),
    ).toBe(want);
  });
});

describe('sign-in throttling policy', () => {
  it.each([
    // The defaults: limit 10, 1 s.
    [1, 1, 10, 0],
    [5, 1, 10, 0],
    [6, 1, 10, 1],
    [7, 1, 10, 2],
    [8, 1, 10, 4],
    [9, 1, 10, 8],
    [10, 1, 10, 0], // refused for the window instead
    // Small limits start earlier; long runs are capped.
    [2, 1, 5, 0],
    [3, 1, 5, 1],
    [4, 1, 5, 2],
    [3, 5, 5, 5],
    [4, 5, 5, 10],
    [57, 1, 100, 60],
    // No delay when switched off, or under huge limits.
    [8, 0, 10, 0],
    [1000, 1, 1_000_000, 0],
  ])('after failure %i with base %i s and limit %i: %i s', (failures, base, limit, want) => {
    expect(failureDelaySeconds(failures, base, limit)).toBe(want);
  });

  it('counts the account per address and the address, never the account alone', () => {
    const limits = { perPair: 10, perAddress: 50 };
    expect(signInLimitKeys('alice', '192.0.2.1', limits)).toEqual([
      { key: 'pair:alice|192.0.2.1', limit: 10 },
      { key: 'address:192.0.2.1', limit: 50 },
    ]);
    expect(signInLimitKeys('alice', undefined, limits, ['credential:k1'])).toEqual([
      { key: 'pair:alice|', limit: 10 },
      { key: 'credential:k1', limit: 10 },
    ]);
  });

  it('holds a pair for its delay without touching other pairs', async () => {
    let now = 0;
    const limiter = new InMemoryAttemptLimiter(60_000, () => now);
    try {
      const pair = [{ key: 'pair:alice|192.0.2.1', limit: 10 }];
      await limiter.hold(pair[0].key, 2000);
      expect(await limiter.blockedFor(pair)).toBe(2);
      expect(await limiter.blockedFor([{ key: 'pair:alice|192.0.2.2', limit: 10 }])).toBe(0);
      now += 1500;
      expect(await limiter.blockedFor(pair)).toBe(1);
      now += 500;
      expect(await limiter.blockedFor(pair)).toBe(0);
      await limiter.hold(pair[0].key, 5000);
      await limiter.reset([pair[0].key]);
      expect(await limiter.blockedFor(pair)).toBe(0);
      expect(await limiter.recordFailure(pair)).toEqual([1]);
      expect(await limiter.recordFailure(pair)).toEqual([2]);
    } finally {
      limiter.close();
    }
  });
});
