import { describe, expect, it } from '@jest/globals';
import {
  auditRowOf,
  type AuditNames,
  idsToName,
  subjectOf,
} from '../../src/audit/audit-mapping.js';
import type { Actor } from '../../src/common/actor.js';
import type { RecordedEvent } from '../../src/events/events.js';

const U1 = '11111111-1111-4111-8111-111111111111';
const O1 = '22222222-2222-4222-8222-222222222222';
const K1 = '33333333-3333-4333-8333-333333333333';
const names: AuditNames = { users: new Map([[U1, 'olga']]), orgs: new Map([[O1, 'acme']]) };

/** Event name, payload → namespace, repository, target, details keys. */
const CASES: [
  string,
  Record<string, unknown>,
  [string | null, string | null, string | null, string[]],
][] = [
  [
    'manifest.pushed',
    {
      repositoryId: 'r',
      repository: 'acme/tools/app',
      digest: 'sha256:a',
      tags: ['v1'],
      moved: [],
    },
    ['acme', 'acme/tools/app', 'sha256:a', ['repositoryId', 'tags', 'moved']],
  ],
  [
    'tag.deleted',
    { repositoryId: 'r', repository: 'olga/app', tag: 'v1' },
    ['olga', 'olga/app', 'v1', ['repositoryId']],
  ],
  [
    'manifest.pulled',
    { repositoryId: 'r', repository: 'olga/app', reference: 'v1', digest: 'sha256:b' },
    ['olga', 'olga/app', 'v1', ['repositoryId', 'digest']],
  ],
  [
    'user.updated',
    { userId: U1, username: 'olga', fields: ['email'] },
    ['olga', null, 'olga', ['userId', 'fields']],
  ],
  [
    'apikey.created',
    { apiKeyId: K1, userId: U1, name: 'ci' },
    ['olga', null, 'ci', ['apiKeyId', 'userId']],
  ],
  ['apikey.revoked', { apiKeyId: K1, userId: U1 }, ['olga', null, K1, ['userId']]],
  [
    'org.member.added',
    { organizationId: O1, name: 'acme', userId: U1, role: 'admin' },
    ['acme', null, 'olga', ['organizationId', 'userId', 'role']],
  ],
  [
    'team.member.added',
    { organizationId: O1, teamId: 't', team: 'devs', userId: U1 },
    ['acme', null, 'olga', ['organizationId', 'teamId', 'team', 'userId']],
  ],
  [
    'team.created',
    { organizationId: O1, teamId: 't', team: 'devs' },
    ['acme', null, 'devs', ['organizationId', 'teamId']],
  ],
  [
    'repository.grants.changed',
    {
      repositoryId: 'r',
      repository: 'acme/app',
      change: { kind: 'user', userId: U1, level: 'read' },
    },
    ['acme', 'acme/app', 'olga', ['repositoryId', 'change']],
  ],
  ['auth.sign-in.failed', {}, [null, null, null, []]],
  ['auth.sign-in.failed', { userId: U1, username: 'olga' }, ['olga', null, 'olga', ['userId']]],
  [
    'session.revoked',
    { userId: U1, sessionId: 's1', reason: 'logout' },
    ['olga', null, 's1', ['userId', 'reason']],
  ],
  // What an event carries for its after-commit consumers only is never audited.
  [
    'user.deleted',
    { userId: U1, username: 'olga', apiKeyIds: [K1], apiKeyHashes: ['ab12'] },
    ['olga', null, 'olga', ['userId', 'apiKeyIds']],
  ],
  [
    'robot.deleted',
    { robotId: 'r', namespace: 'acme', name: 'ci', apiKeyIds: [K1], apiKeyHashes: ['ab12'] },
    ['acme', null, 'ci', ['robotId', 'apiKeyIds']],
  ],
  [
    'team.deleted',
    { organizationId: O1, teamId: 't', team: 'devs', memberIds: [U1], repositories: ['acme/a'] },
    ['acme', null, 'devs', ['organizationId', 'teamId', 'memberIds', 'repositories']],
  ],
  [
    'org.deleted',
    { organizationId: O1, name: 'acme', memberIds: [U1] },
    ['acme', null, 'acme', ['organizationId', 'memberIds']],
  ],
  // An event no extractor knows (another branch's): the generic rules still place it.
  [
    'gc.blob.deleted',
    { repository: 'acme/app', digest: 'sha256:c', size: 3 },
    ['acme', 'acme/app', 'sha256:c', ['size']],
  ],
  ['quota.refused', { namespace: 'acme', bytes: 5 }, ['acme', null, null, ['bytes']]],
];

describe('audit rows of events', () => {
  it.each(CASES)('%s %j', (name, payload, [namespace, repository, target, detailKeys]) => {
    const s = subjectOf(name, payload, names);
    expect([s.namespace, s.repository, s.target]).toEqual([namespace, repository, target]);
    const actor: Actor = {
      principal: { kind: 'user', userId: U1, username: 'olga', isAdmin: false },
      credential: 'api-key',
      apiKeyId: K1,
      address: '10.0.0.1',
      requestId: 'req-1',
    };
    const row = auditRowOf(
      {
        name,
        payload,
        actor,
        id: '7',
        requestId: 'req-1',
        occurredAt: new Date(0),
      } as unknown as RecordedEvent,
      names,
    );
    expect(Object.keys(row.details).sort()).toEqual([...detailKeys].sort());
    expect(row).toMatchObject({
      eventId: '7',
      action: name,
      actorKind: 'user',
      actorId: U1,
      actorName: 'olga',
      credential: 'api-key',
      apiKeyId: K1,
      clientAddress: '10.0.0.1',
      requestId: 'req-1',
    });
  });

  it('maps every kind of actor; ids that are not uuids are not put in uuid columns', () => {
    const row = (actor: Actor) =>
      auditRowOf(
        {
          name: 'x',
          payload: {},
          actor,
          id: '1',
          requestId: 'r',
          occurredAt: new Date(0),
        } as unknown as RecordedEvent,
        names,
      );
    expect(
      row({ principal: { kind: 'anonymous' }, credential: 'anonymous', requestId: 'r' }),
    ).toMatchObject({
      actorKind: 'anonymous',
      actorId: null,
      actorName: null,
      clientAddress: null,
    });
    expect(
      row({ principal: { kind: 'system', name: 'gc' }, credential: 'system', requestId: 'r' }),
    ).toMatchObject({ actorKind: 'system', actorId: null, actorName: 'gc' });
    expect(
      row({
        principal: { kind: 'robot', robotId: K1, name: 'ci', namespace: 'acme' },
        credential: 'token',
        apiKeyId: 'nope',
        requestId: 'r',
      }),
    ).toMatchObject({ actorKind: 'robot', actorId: K1, actorName: 'acme+ci', apiKeyId: null });
  });
});

describe('the names an audit row needs', () => {
  const actor: Actor = {
    principal: { kind: 'user', userId: U1, username: 'olga', isAdmin: false },
    credential: 'password',
    requestId: 'req-2',
  };
  const eventOf = (name: string, payload: Record<string, unknown>) =>
    ({ name, payload, actor, id: '7', occurredAt: new Date(0) }) as unknown as RecordedEvent;
  const only = (all: ReadonlyMap<string, string>, ids: string[]) =>
    new Map([...all].filter(([id]) => ids.includes(id)));

  it.each(CASES)('%s %j: the ids asked for give the same row as every name', (name, payload) => {
    const e = eventOf(name, payload);
    const ids = idsToName(e);
    const looked: AuditNames = {
      users: only(names.users, ids.users),
      orgs: only(names.orgs, ids.orgs),
    };
    expect(auditRowOf(e, looked)).toEqual(auditRowOf(e, names));
  });

  it("a user's own events (which carry the username) and repository events ask for none", () => {
    for (const [name, payload] of [
      ['token.issued', { userId: U1, username: 'olga', scopes: ['repository:olga/app:push'] }],
      ['user.updated', { userId: U1, username: 'olga', fields: ['email'] }],
      ['auth.signed-in', { userId: U1, username: 'olga' }],
      ['blob.pushed', { repositoryId: 'r', repository: 'olga/app', digest: 'sha256:a' }],
    ] as const)
      expect(idsToName(eventOf(name, payload))).toEqual({ users: [], orgs: [] });
  });

  it('events naming users or organizations by id ask for exactly those (well-formed ids only)', () => {
    expect(
      idsToName(eventOf('org.member.added', { organizationId: O1, name: 'acme', userId: U1 })),
    ).toEqual({ users: [U1], orgs: [] });
    expect(idsToName(eventOf('team.created', { organizationId: O1, team: 'devs' }))).toEqual({
      users: [],
      orgs: [O1],
    });
    expect(idsToName(eventOf('session.revoked', { userId: 'not-a-uuid', sessionId: 's' }))).toEqual(
      { users: [], orgs: [] },
    );
  });
});
