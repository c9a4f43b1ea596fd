// Service tier: no write invalidates the cache by hand. Each write records its event, and the
// after-commit consumers of that event invalidate exactly the keys the write changed: the test
// watches CacheService.invalidate and checks, at every call, that the write's event is already
// committed (read on a connection of its own), and which keys were named. Sessions end in the
// transaction of the user events; events relayed from the outbox (their node died after commit)
// invalidate the same keys from their payload alone.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ApiKeysService } from '../../src/api-keys/api-keys.service.js';
import { hashApiKey } from '../../src/api-keys/api-key-format.js';
import type { UserPrincipal } from '../../src/auth/principal.js';
import { SessionsService } from '../../src/auth/sessions.service.js';
import { CacheKeys } from '../../src/cache/cache-keys.js';
import { CacheService } from '../../src/cache/cache.service.js';
import type { Actor } from '../../src/common/actor.js';
import { EventsService } from '../../src/events/events.service.js';
import { OrgsService } from '../../src/orgs/orgs.service.js';
import { ReposService } from '../../src/repos/repos.service.js';
import { RobotsService } from '../../src/robots/robots.service.js';
import { UsersService } from '../../src/users/users.service.js';
import { type Services, startServices } from './support.js';

let s: Services;
let cache: CacheService;
let keys: CacheKeys;
let users: UsersService;
let orgs: OrgsService;
let repos: ReposService;
let apiKeys: ApiKeysService;
let robots: RobotsService;
let sessions: SessionsService;

/** Invalidation calls since the last `write`: the keys, and the events committed at that moment. */
let calls: { keys: string[]; committed: string[] }[] = [];
let mark = '0';

interface Person {
  id: string;
  name: string;
  actor: Actor;
  org: { userId: string; isAdmin: boolean };
  principal: UserPrincipal;
}
const people: Record<string, Person> = {};

async function person(name: string): Promise<Person> {
  const system: Actor = {
    principal: { kind: 'system', name: 'test' },
    credential: 'system',
    requestId: `create-${name}`,
  };
  const u = await users.create({ username: name, password: `${name}-password-1` }, system);
  const p: Person = {
    id: u.id,
    name,
    actor: {
      principal: { kind: 'user', userId: u.id, username: name, isAdmin: false },
      credential: 'jwt',
      requestId: `req-${name}`,
    },
    org: { userId: u.id, isAdmin: false },
    principal: { kind: 'user', userId: u.id, username: name, isAdmin: false, method: 'jwt' },
  };
  people[name] = p;
  return p;
}

/**
 * Runs a write and returns the events it recorded and the keys invalidated for it; fails when a
 * key was invalidated before the write's event was committed.
 */
async function write(run: () => Promise<unknown>): Promise<{ events: string[]; keys: string[] }> {
  const { rows } = await s.db.query<{ id: string }>(
    `SELECT coalesce(max(id), 0)::text AS id FROM outbox`,
  );
  mark = rows[0].id;
  calls = [];
  await run();
  const recorded = await s.db.query<{ event: string }>(
    `SELECT event FROM outbox WHERE id > $1 ORDER BY id`,
    [mark],
  );
  for (const c of calls) expect(c.committed.length).toBeGreaterThan(0);
  return { events: recorded.rows.map((r) => r.event), keys: calls.flatMap((c) => c.keys) };
}

beforeAll(async () => {
  s = await startServices();
  cache = s.get(CacheService);
  keys = s.get(CacheKeys);
  users = s.get(UsersService);
  orgs = s.get(OrgsService);
  repos = s.get(ReposService);
  apiKeys = s.get(ApiKeysService);
  robots = s.get(RobotsService);
  sessions = s.get(SessionsService);
  const original = cache.invalidate.bind(cache);
  jest.spyOn(cache, 'invalidate').mockImplementation(async (...names: string[]) => {
    // Another connection sees only committed rows.
    const { rows } = await s.db.query<{ event: string }>(
      `SELECT event FROM outbox WHERE id > $1 ORDER BY id`,
      [mark],
    );
    calls.push({ keys: names, committed: rows.map((r) => r.event) });
    return original(...names);
  });
  for (const name of ['olga', 'adam', 'rita']) await person(name);
}, 120_000);

afterAll(async () => {
  jest.restoreAllMocks();
  await s?.close();
});

describe('cache invalidation follows the events', () => {
  it('user.created forgets the name', async () => {
    const r = await write(() => person('vera'));
    expect(r.events).toEqual(['user.created']);
    expect(r.keys).toEqual(expect.arrayContaining([keys.namespaceKind('vera')]));
  });

  it('org.created forgets the name and its owner; team and membership events their users', async () => {
    const { olga, adam, rita } = people;
    let r = await write(() => orgs.create('acme', {}, olga.org, olga.actor));
    expect(r.events).toEqual(['org.created']);
    expect(r.keys).toEqual(
      expect.arrayContaining([keys.namespaceKind('acme'), keys.userFacts(olga.id)]),
    );
    r = await write(() => orgs.addMember('acme', 'adam', 'member', olga.org, olga.actor));
    expect(r).toEqual({ events: ['org.member.added'], keys: [keys.userFacts(adam.id)] });
    await orgs.addMember('acme', 'rita', 'member', olga.org, olga.actor);
    await orgs.createTeam('acme', 'devs', null, olga.org, olga.actor);
    r = await write(() => orgs.addTeamMember('acme', 'devs', 'adam', olga.org, olga.actor));
    expect(r).toEqual({ events: ['team.member.added'], keys: [keys.userFacts(adam.id)] });
    await orgs.addTeamMember('acme', 'devs', 'rita', olga.org, olga.actor);
    // Only a change of canCreateRepositories touches the members' facts.
    r = await write(() => orgs.updateTeam('acme', 'devs', 'x', olga.org, olga.actor));
    expect(r).toEqual({ events: ['team.updated'], keys: [] });
    r = await write(() => orgs.updateTeam('acme', 'devs', undefined, olga.org, olga.actor, true));
    expect(r.events).toEqual(['team.updated']);
    expect(r.keys.sort()).toEqual([keys.userFacts(adam.id), keys.userFacts(rita.id)].sort());
  });

  it('repository.created forgets the repository and its namespace (reserved in its transaction)', async () => {
    const admin: Actor = {
      principal: { kind: 'user', userId: people.olga.id, username: 'olga', isAdmin: true },
      credential: 'jwt',
      requestId: 'req-admin',
    };
    const r = await write(() => repos.create('nobody/app', {}, admin));
    expect(r.events).toEqual(['repository.created']);
    expect(r.keys).toEqual(
      expect.arrayContaining([keys.repoFacts('nobody/app'), keys.namespaceKind('nobody')]),
    );
    const { rows } = await s.db.query(`SELECT kind FROM namespaces WHERE name = 'nobody'`);
    expect(rows).toEqual([{ kind: 'reserved' }]);
  });

  it('team.deleted forgets its members and the repositories it had grants on', async () => {
    const { olga, adam, rita } = people;
    const repo = await repos.create('acme/app', {}, olga.actor);
    const team = await orgs.findTeam((await orgs.requireByName('acme')).id, 'devs');
    await repos.setTeamGrant(repo, team!.id, 'write', olga.actor);
    const r = await write(() => orgs.deleteTeam('acme', 'devs', olga.org, olga.actor));
    expect(r.events).toEqual(['team.deleted']);
    expect(r.keys.sort()).toEqual(
      [keys.userFacts(adam.id), keys.userFacts(rita.id), keys.repoFacts('acme/app')].sort(),
    );
  });

  it('apikey.revoked forgets the key by id and by hash', async () => {
    const { olga } = people;
    const { key, secret } = await apiKeys.create(olga.id, 'ci', undefined, olga.actor);
    const r = await write(() => apiKeys.revoke(olga.id, key.id, olga.actor));
    expect(r.events).toEqual(['apikey.revoked']);
    expect(r.keys.sort()).toEqual(
      [keys.apiKeyById(key.id), keys.apiKeyByHash(hashApiKey(secret))].sort(),
    );
  });

  it('robot.deleted forgets the namespace robots and the keys it took with it', async () => {
    const { olga } = people;
    const { robot, secret } = await robots.create(
      olga.principal,
      'acme',
      { name: 'ci', grants: [{ repository: 'acme/*', level: 'read' }] } as never,
      olga.actor,
    );
    const { rows } = await s.db.query<{ id: string }>(
      `SELECT id FROM api_keys WHERE robot_id = $1`,
      [robot.id],
    );
    const r = await write(() => robots.remove(olga.principal, 'acme', 'ci', olga.actor));
    expect(r.events).toEqual(['robot.deleted']);
    expect(r.keys.sort()).toEqual(
      [
        keys.robotsOf('acme'),
        keys.apiKeyById(rows[0].id),
        keys.apiKeyByHash(hashApiKey(secret)),
      ].sort(),
    );
  });

  it('org.deleted forgets the name, its robots and every member', async () => {
    const { olga, adam, rita } = people;
    await repos.delete((await repos.findByName('acme/app'))!, olga.actor);
    const r = await write(() => orgs.delete('acme', olga.org, olga.actor));
    expect(r.events).toEqual(['org.deleted']);
    expect(r.keys.sort()).toEqual(
      [
        keys.namespaceKind('acme'),
        keys.robotsOf('acme'),
        keys.userFacts(olga.id),
        keys.userFacts(adam.id),
        keys.userFacts(rita.id),
      ].sort(),
    );
  });

  it('deactivating a user forgets its facts and keys and ends its sessions in the same transaction', async () => {
    const { rita, olga } = people;
    const { key, secret } = await apiKeys.create(rita.id, 'ci', undefined, rita.actor);
    const { session } = await sessions.start(rita.id, 'api');
    const r = await write(() => users.adminUpdate('rita', { active: false }, olga.id, olga.actor));
    expect(r.events).toEqual(['user.updated']);
    expect(r.keys.sort()).toEqual(
      [
        keys.userFacts(rita.id),
        keys.apiKeyById(key.id),
        keys.apiKeyByHash(hashApiKey(secret)),
      ].sort(),
    );
    expect(await sessions.isActive(session.id, rita.id)).toBe(false);
    // The session ended in the write's own transaction: its revocation is no event of its own.
    const { rows } = await s.db.query(`SELECT revoked_reason FROM auth_sessions WHERE id = $1`, [
      session.id,
    ]);
    expect(rows).toEqual([{ revoked_reason: 'ended' }]);
  });

  it('a password change forgets the user facts and ends every other session', async () => {
    const { adam } = people;
    const kept = await sessions.start(adam.id, 'api');
    const other = await sessions.start(adam.id, 'registry');
    const r = await write(() =>
      users.setPassword(adam.id, 'adam-password-2', adam.actor, kept.session.id),
    );
    expect(r).toEqual({ events: ['user.password.changed'], keys: [keys.userFacts(adam.id)] });
    expect(await sessions.isActive(kept.session.id, adam.id)).toBe(true);
    expect(await sessions.isActive(other.session.id, adam.id)).toBe(false);
  });

  it('user.deleted forgets the facts, the name, the robots of the namespace and the keys', async () => {
    const { vera, olga } = people;
    const { key, secret } = await apiKeys.create(vera.id, 'ci', undefined, vera.actor);
    const r = await write(() => users.delete('vera', olga.id, olga.actor));
    expect(r.events).toEqual(['user.deleted']);
    expect(r.keys.sort()).toEqual(
      [
        keys.userFacts(vera.id),
        keys.namespaceKind('vera'),
        keys.robotsOf('vera'),
        keys.apiKeyById(key.id),
        keys.apiKeyByHash(hashApiKey(secret)),
      ].sort(),
    );
  });

  it('an event relayed from the outbox invalidates the same keys from its payload', async () => {
    const member = '11111111-1111-4111-8111-111111111111';
    const r = await write(async () => {
      // As a node that died after its commit left it: undelivered, a few minutes old.
      await s.db.query(
        `INSERT INTO outbox (event, actor, request_id, payload, created_at)
         VALUES ('org.deleted', $1, 'relayed', $2, now() - interval '5 minutes')`,
        [
          JSON.stringify({ principal: { kind: 'system', name: 'gone' }, credential: 'system' }),
          JSON.stringify({ organizationId: member, name: 'gone', memberIds: [member] }),
        ],
      );
      await s.get(EventsService).sweep();
    });
    expect(r.keys.sort()).toEqual(
      [keys.namespaceKind('gone'), keys.robotsOf('gone'), keys.userFacts(member)].sort(),
    );
  });
});
