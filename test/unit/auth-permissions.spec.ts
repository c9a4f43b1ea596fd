import { describe, expect, it } from '@jest/globals';
import {
  type AccessFacts,
  type AccessSubject,
  actionsOf,
  maxLevel,
  ownsNamespace,
  type PermissionLevel,
  resolveLevel,
} from '../../src/repos/permissions.js';

const alice: AccessSubject = { kind: 'user', userId: 'u-alice', username: 'alice', isAdmin: false };
const bob: AccessSubject = { kind: 'user', userId: 'u-bob', username: 'bob', isAdmin: false };
const root: AccessSubject = { kind: 'user', userId: 'u-root', username: 'root', isAdmin: true };
/** A robot of alice's namespace, and one whose name is the same as a user's. */
const robot: AccessSubject = { kind: 'robot', robotId: 'r-ci', namespace: 'alice' };
const anonymous: AccessSubject = { kind: 'anonymous' };

function userRepo(
  visibility: 'public' | 'private',
  extra: Partial<NonNullable<AccessFacts['repository']>> = {},
): AccessFacts {
  return {
    namespace: 'alice',
    namespaceKind: 'user',
    orgRole: null,
    repository: { visibility, userGrant: null, teamGrants: [], ...extra },
  };
}

function orgRepo(
  visibility: 'public' | 'private' | undefined,
  orgRole: AccessFacts['orgRole'],
  extra: Partial<NonNullable<AccessFacts['repository']>> = {},
): AccessFacts {
  return {
    namespace: 'acme',
    namespaceKind: 'org',
    orgRole,
    repository: visibility ? { visibility, userGrant: null, teamGrants: [], ...extra } : undefined,
  };
}

describe('permission resolution', () => {
  it.each<[string, AccessSubject | null, AccessFacts, PermissionLevel]>([
    ['owner of a user namespace, private', alice, userRepo('private'), 'admin'],
    ['stranger on a private user repository', bob, userRepo('private'), 'none'],
    ['stranger on a public user repository', bob, userRepo('public'), 'read'],
    ['anonymous on a public repository', null, userRepo('public'), 'read'],
    ['anonymous on a private repository', null, userRepo('private'), 'none'],
    [
      'anonymous ignores grants (none apply)',
      null,
      userRepo('private', { userGrant: 'write' }),
      'none',
    ],
    ['direct read grant on private', bob, userRepo('private', { userGrant: 'read' }), 'read'],
    ['direct write grant on public', bob, userRepo('public', { userGrant: 'write' }), 'write'],
    ['direct admin grant', bob, userRepo('private', { userGrant: 'admin' }), 'admin'],
    ['system administrator on a private repository', root, userRepo('private'), 'admin'],
    ['org owner, private', bob, orgRepo('private', 'owner'), 'admin'],
    ['org admin, private', bob, orgRepo('private', 'admin'), 'admin'],
    ['org member without grants, private', bob, orgRepo('private', 'member'), 'none'],
    ['org member without grants, public', bob, orgRepo('public', 'member'), 'read'],
    ['team read grant', bob, orgRepo('private', 'member', { teamGrants: ['read'] }), 'read'],
    [
      'highest of several team grants',
      bob,
      orgRepo('private', 'member', { teamGrants: ['read', 'write'] }),
      'write',
    ],
    [
      'highest of user and team grants',
      bob,
      orgRepo('private', 'member', { userGrant: 'admin', teamGrants: ['read'] }),
      'admin',
    ],
    [
      'team grant below public read',
      bob,
      orgRepo('public', null, { teamGrants: ['read'] }),
      'read',
    ],
  ])('%s', (_, subject, facts, expected) => {
    expect(resolveLevel(subject, facts)).toBe(expected);
  });

  it('lets only namespace administrators create repositories', () => {
    const missing = (
      namespace: string,
      kind: AccessFacts['namespaceKind'],
      orgRole: AccessFacts['orgRole'] = null,
    ): AccessFacts => ({
      namespace,
      namespaceKind: kind,
      orgRole,
    });
    expect(resolveLevel(alice, missing('alice', 'user'))).toBe('admin');
    expect(resolveLevel(bob, missing('alice', 'user'))).toBe('none');
    expect(resolveLevel(null, missing('alice', 'user'))).toBe('none');
    expect(resolveLevel(bob, missing('acme', 'org', 'owner'))).toBe('admin');
    expect(resolveLevel(bob, missing('acme', 'org', 'admin'))).toBe('admin');
    expect(resolveLevel(bob, missing('acme', 'org', 'member'))).toBe('none');
    expect(resolveLevel(bob, missing('acme', 'org', null))).toBe('none');
    // Only a system administrator creates repositories under a name nobody holds.
    expect(resolveLevel(alice, missing('ghost', null))).toBe('none');
    expect(resolveLevel(root, missing('ghost', null))).toBe('admin');
    expect(resolveLevel(root, missing('alice', 'user'))).toBe('admin');
    // Namespaces left over from before tenancy are managed by system administrators only.
    expect(resolveLevel(alice, missing('old', 'reserved'))).toBe('none');
    expect(resolveLevel(root, missing('old', 'reserved'))).toBe('admin');
  });

  it('does not confuse a user namespace with a user of a similar name', () => {
    expect(
      ownsNamespace(alice, { namespace: 'alice2', namespaceKind: 'user', orgRole: null }),
    ).toBe(false);
    expect(ownsNamespace(alice, { namespace: 'alice', namespaceKind: 'org', orgRole: null })).toBe(
      false,
    );
  });

  it('counts an organization role only in an organization namespace', () => {
    for (const namespaceKind of ['reserved', null, 'user'] as const)
      for (const orgRole of ['owner', 'admin'] as const)
        expect(ownsNamespace(bob, { namespace: 'old', namespaceKind, orgRole })).toBe(false);
    expect(ownsNamespace(bob, { namespace: 'old', namespaceKind: 'org', orgRole: 'member' })).toBe(
      false,
    );
  });

  it('maps levels to registry actions', () => {
    expect(actionsOf('none')).toEqual([]);
    expect(actionsOf('read')).toEqual(['pull']);
    expect(actionsOf('write')).toEqual(['pull', 'push']);
    expect(actionsOf('admin')).toEqual(['pull', 'push', 'delete']);
    expect(maxLevel(null, 'read', undefined, 'write', 'none')).toBe('write');
    expect(maxLevel()).toBe('none');
  });

  describe('principal kinds', () => {
    it.each<[string, AccessSubject | null, AccessFacts, PermissionLevel]>([
      ['robot, own namespace, private, no grant', robot, userRepo('private'), 'none'],
      ['robot, own namespace, public, no grant', robot, userRepo('public'), 'read'],
      ['robot, granted write', robot, userRepo('private', { userGrant: 'write' }), 'write'],
      ['robot, granted admin', robot, userRepo('private', { userGrant: 'admin' }), 'admin'],
      ['robot, org repo, org role never counts', robot, orgRepo('private', 'owner'), 'none'],
      ['anonymous kind, public', anonymous, userRepo('public'), 'read'],
      ['anonymous kind, private', anonymous, userRepo('private'), 'none'],
      [
        'anonymous kind, a grant never counts',
        anonymous,
        userRepo('private', { userGrant: 'admin' }),
        'none',
      ],
      ['null is anonymous too', null, userRepo('private', { userGrant: 'admin' }), 'none'],
    ])('%s → %s', (_label, subject, facts, expected) => {
      expect(resolveLevel(subject, facts)).toBe(expected);
    });

    it.each<[string, AccessSubject | null, boolean]>([
      ['the user of the name', alice, true],
      ['another user', bob, false],
      ['a system administrator', root, true],
      ['a robot of the namespace', robot, false],
      ['an anonymous caller', anonymous, false],
      ['no subject', null, false],
    ])('namespace "alice" is owned by %s: %s', (_label, subject, expected) => {
      expect(
        ownsNamespace(subject, { namespace: 'alice', namespaceKind: 'user', orgRole: null }),
      ).toBe(expected);
    });

    it('a robot never creates repositories, even in its own namespace', () => {
      expect(
        resolveLevel(robot, { namespace: 'alice', namespaceKind: 'user', orgRole: null }),
      ).toBe('none');
      expect(resolveLevel(robot, { namespace: 'ghost', namespaceKind: null, orgRole: null })).toBe(
        'none',
      );
    });
  });
});
