import { describe, expect, it } from '@jest/globals';
import {
  type AccessFacts,
  type AccessSubject,
  namespaceStanding,
  type NamespaceStanding,
} from '../../src/repos/permissions.js';

const alice: AccessSubject = { kind: 'user', userId: 'u-alice', username: 'alice', isAdmin: false };
const bob: AccessSubject = { kind: 'user', userId: 'u-bob', username: 'bob', isAdmin: false };
const root: AccessSubject = { kind: 'user', userId: 'u-root', username: 'root', isAdmin: true };
/** A robot named like the namespace, and one of the organization: neither stands anywhere. */
const aliceRobot: AccessSubject = { kind: 'robot', robotId: 'r-1', namespace: 'alice' };
const acmeRobot: AccessSubject = { kind: 'robot', robotId: 'r-2', namespace: 'acme' };
const anonymous: AccessSubject = { kind: 'anonymous' };

type Facts = Pick<AccessFacts, 'namespaceKind' | 'namespace' | 'orgRole'>;
const userNs: Facts = { namespace: 'alice', namespaceKind: 'user', orgRole: null };
const org = (orgRole: Facts['orgRole']): Facts => ({
  namespace: 'acme',
  namespaceKind: 'org',
  orgRole,
});
/** Held by repositories a system administrator created under a name nobody held. */
const reserved: Facts = { namespace: 'library', namespaceKind: 'reserved', orgRole: null };
/** A name nobody holds (e.g. one of the reserved user names nobody may register, like `admin`). */
const nobodys: Facts = { namespace: 'admin', namespaceKind: null, orgRole: null };

describe('namespace standing (robots, webhooks, retention, quotas)', () => {
  it.each<[string, AccessSubject | null, Facts, NamespaceStanding]>([
    ['a user in their own namespace', alice, userNs, 'admin'],
    ["a user in another user's namespace", bob, userNs, 'none'],
    [
      "another user's namespace with an organization role fact (never happens; a role counts only in an organization)",
      bob,
      { ...userNs, orgRole: 'member' },
      'none',
    ],
    ["a system administrator in a user's namespace", root, userNs, 'admin'],
    ['organization owner', alice, org('owner'), 'admin'],
    ['organization admin', alice, org('admin'), 'admin'],
    ['organization member', alice, org('member'), 'member'],
    ['not in the organization', bob, org(null), 'none'],
    ['system administrator outside the organization', root, org(null), 'admin'],
    ['a reserved namespace, system administrator', root, reserved, 'admin'],
    ['a reserved namespace, a user', alice, reserved, 'unknown'],
    [
      'a reserved namespace named like the user (never happens; still unknown)',
      { kind: 'user', userId: 'u-l', username: 'library', isAdmin: false },
      reserved,
      'unknown',
    ],
    ['a reserved namespace, anonymous', null, reserved, 'unknown'],
    ['a name nobody holds, system administrator', root, nobodys, 'unknown'],
    ['a name nobody holds, a user', alice, nobodys, 'unknown'],
    [
      'a name nobody holds, the user of that name (a stale fact)',
      { kind: 'user', userId: 'u-a', username: 'admin', isAdmin: false },
      nobodys,
      'unknown',
    ],
    ['robot named like the user namespace', aliceRobot, userNs, 'none'],
    ['robot of the organization, even with an owner role fact', acmeRobot, org('owner'), 'none'],
    ['robot in a reserved namespace', aliceRobot, reserved, 'unknown'],
    ['anonymous in a user namespace', anonymous, userNs, 'none'],
    ['null subject in an organization', null, org('member'), 'none'],
  ])('%s', (_label, subject, facts, expected) => {
    expect(namespaceStanding(subject, facts)).toBe(expected);
  });
});
