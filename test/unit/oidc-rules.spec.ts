import { describe, expect, it } from '@jest/globals';
import {
  groupsFromClaim,
  membershipChanges,
  safeReturnTo,
  usernameFromClaim,
} from '../../src/auth/oidc/oidc-rules.js';

describe('OIDC rules', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['/repos/acme/web?tab=tags', '/repos/acme/web?tab=tags'],
    ['//evil.example', null],
    ['/\\evil.example', null],
    ['https://evil.example/', null],
    ['repos', null],
    ['/a\nb', null],
  ])('returnTo %j -> %j', (raw, want) => {
    expect(safeReturnTo(raw)).toBe(want);
  });

  it.each([
    ['Alice', 'alice'],
    [' bob.smith ', 'bob.smith'],
  ])('user name claim %j -> %j', (raw, name) => {
    expect(usernameFromClaim(raw)).toEqual({ ok: true, name });
  });

  it.each([[undefined], [''], [42], ['alice@example.com'], ['admin']])(
    'user name claim %j is refused',
    (raw) => {
      expect(usernameFromClaim(raw).ok).toBe(false);
    },
  );

  it('groups claim', () => {
    expect(groupsFromClaim(['a', 1, 'b'])).toEqual(['a', 'b']);
    expect(groupsFromClaim('a')).toEqual(['a']);
    expect(groupsFromClaim(undefined)).toEqual([]);
  });

  it('membership changes join named organizations and leave plain memberships only', () => {
    expect(
      membershipChanges(['Acme', 'devs', 'globex'], new Set(['acme', 'globex']), [
        { name: 'globex', role: 'member' },
        { name: 'initech', role: 'member' },
        { name: 'umbrella', role: 'owner' },
      ]),
    ).toEqual({ join: ['acme'], leave: ['initech'] });
  });
});
