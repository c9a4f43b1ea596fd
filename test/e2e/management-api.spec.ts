import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { basicHeader, RegistryClient } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import {
  ADMIN,
  api,
  type Auth,
  decodeJwt,
  type Json,
  login,
  ok,
  registerAndLogin,
  registryToken,
  type TestUser,
} from './identity-support.js';

// Management API additions for the CLI and the web UI: one-grant changes, the organization list
// and the aliases of the original API documentation, route shapes around `/permissions`, and the
// fixes of documented-but-wrong behaviour.
let server: TestServer;
let base: string;
const u: Record<string, TestUser> = {};
const as = (name: string): Auth => ({ bearer: u[name].accessToken });

/** The actions a registry token grants `who` on `repo` (read through the cached permission facts). */
async function registryActions(who: string, repo: string): Promise<string[]> {
  const t = await registryToken(base, [`repository:${repo}:pull,push,delete`], {
    basic: [u[who].username, u[who].password],
  });
  expect(t.status).toBe(200);
  const access = decodeJwt(t.token!).access as { name: string; actions: string[] }[];
  return (access.find((a) => a.name === repo)?.actions ?? []).sort();
}

beforeAll(async () => {
  server = await startServer({
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  base = server.url;
  u.admin = await login(base, ADMIN.username, ADMIN.password);
  for (const name of ['olga', 'adam', 'mike', 'tina', 'zed', 'repositories'])
    u[name] = await registerAndLogin(base, name);
  // olga owns acme (adam admin, mike and tina members; team devs = mike) and beta.
  await ok(base, 'POST', '/orgs', {
    auth: as('olga'),
    body: { name: 'acme', displayName: 'Acme Corp' },
  });
  await ok(base, 'POST', '/orgs', { auth: as('olga'), body: { name: 'beta' } });
  await ok(base, 'POST', '/orgs', { auth: as('zed'), body: { name: 'zeta' } });
  await ok(base, 'POST', '/orgs/acme/members', {
    auth: as('olga'),
    body: { username: 'adam', role: 'admin' },
  });
  await ok(base, 'POST', '/orgs/acme/teams', { auth: as('olga'), body: { name: 'devs' } });
  await ok(base, 'POST', '/orgs/beta/teams', { auth: as('olga'), body: { name: 'ops' } });
  await ok(base, 'POST', '/repos', {
    auth: as('olga'),
    body: { namespace: 'acme', name: 'app', visibility: 'private' },
  });
  await ok(base, 'POST', '/repos', {
    auth: as('olga'),
    body: { namespace: 'olga', name: 'tool', visibility: 'public' },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('organization members', () => {
  it('get the documented default role "member" when no role is sent', async () => {
    const added = await ok(base, 'POST', '/orgs/acme/members', {
      auth: as('olga'),
      body: { username: 'mike' },
    });
    expect(added).toMatchObject({ user: { username: 'mike' }, role: 'member' });
    await ok(base, 'POST', '/orgs/acme/members', {
      auth: as('adam'),
      body: { username: 'tina', role: 'member' },
    });
    await ok(base, 'PUT', '/orgs/acme/teams/devs/members/mike', { auth: as('olga') });
    const bad = await api(base, 'POST', '/orgs/acme/members', {
      auth: as('olga'),
      body: { username: 'zed', role: 'boss' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('GET /api/v1/orgs and its alias GET /api/v1/organizations', () => {
  it("lists the caller's organizations with their role, in name order", async () => {
    const olga = await ok(base, 'GET', '/orgs', { auth: as('olga') });
    expect(olga).toMatchObject({ total: 2, page: 1, perPage: 20 });
    expect(olga.items.map((o: Json) => [o.name, o.role])).toEqual([
      ['acme', 'owner'],
      ['beta', 'owner'],
    ]);
    expect(olga.items[0]).toMatchObject({ displayName: 'Acme Corp', description: null });
    const adam = await ok(base, 'GET', '/orgs', { auth: as('adam') });
    expect(adam.items.map((o: Json) => [o.name, o.role])).toEqual([['acme', 'admin']]);
    const mike = await ok(base, 'GET', '/orgs', { auth: as('mike') });
    expect(mike.items.map((o: Json) => [o.name, o.role])).toEqual([['acme', 'member']]);
    const none = await ok(base, 'GET', '/orgs', { auth: as('repositories') });
    expect(none).toEqual({ items: [], total: 0, page: 1, perPage: 20 });
  });

  it('lists every organization for the system administrator', async () => {
    const all = await ok(base, 'GET', '/orgs', { auth: as('admin') });
    expect(all.items.map((o: Json) => [o.name, o.role])).toEqual([
      ['acme', 'owner'],
      ['beta', 'owner'],
      ['zeta', 'owner'],
    ]);
  });

  it('pages and filters', async () => {
    const p2 = await ok(base, 'GET', '/orgs?perPage=1&page=2', { auth: as('olga') });
    expect(p2).toMatchObject({ total: 2, page: 2, perPage: 1 });
    expect(p2.items.map((o: Json) => o.name)).toEqual(['beta']);
    const q = await ok(base, 'GET', '/orgs?q=CORP', { auth: as('admin') });
    expect(q.items.map((o: Json) => o.name)).toEqual(['acme']);
    const wildcard = await ok(base, 'GET', '/orgs?q=%25', { auth: as('admin') });
    expect(wildcard.total).toBe(0);
    expect((await api(base, 'GET', '/orgs?perPage=500', { auth: as('olga') })).status).toBe(400);
  });

  it('refuses anonymous callers', async () => {
    expect((await api(base, 'GET', '/orgs')).status).toBe(401);
    expect((await api(base, 'GET', '/organizations')).status).toBe(401);
  });

  it('serves the same list at /organizations, and leaves /orgs/{org} alone', async () => {
    for (const who of ['olga', 'admin', 'mike']) {
      const q = '?perPage=2&q=a';
      expect(await ok(base, 'GET', `/organizations${q}`, { auth: as(who) })).toEqual(
        await ok(base, 'GET', `/orgs${q}`, { auth: as(who) }),
      );
    }
    expect((await ok(base, 'GET', '/orgs/acme')).name).toBe('acme');
  });
});

describe('GET /api/v1/repos/repositories, the alias of GET /api/v1/repos', () => {
  it('lists what GET /repos lists, for anonymous and signed-in callers', async () => {
    for (const auth of [undefined, as('mike'), as('olga')]) {
      expect(await ok(base, 'GET', '/repos/repositories?perPage=50', { auth })).toEqual(
        await ok(base, 'GET', '/repos?perPage=50', { auth }),
      );
    }
    const filtered = await ok(base, 'GET', '/repos/repositories?namespace=olga', {
      auth: as('olga'),
    });
    expect(filtered.items.map((r: Json) => r.name)).toEqual(['olga/tool']);
  });

  it('neither swallows nor is swallowed by the repositories of a user named "repositories"', async () => {
    await ok(base, 'POST', '/repos', {
      auth: as('repositories'),
      body: { namespace: 'repositories', name: 'app', visibility: 'public' },
    });
    const details = await ok(base, 'GET', '/repos/repositories/app');
    expect(details).toMatchObject({ name: 'repositories/app', tags: [] });
    const patched = await ok(base, 'PATCH', '/repos/repositories/app', {
      auth: as('repositories'),
      body: { description: 'reachable' },
    });
    expect(patched.description).toBe('reachable');
    const list = await ok(base, 'GET', '/repos/repositories?perPage=100');
    expect(list.items.map((r: Json) => r.name)).toContain('repositories/app');
    await ok(base, 'DELETE', '/repos/repositories/app', { auth: as('repositories') });
    expect((await api(base, 'GET', '/repos/repositories/app')).status).toBe(404);
    expect((await api(base, 'GET', '/repos/repositories')).status).toBe(200);
  });
});

describe('one grant at a time', () => {
  const USERS = '/repos/acme/app/permissions/users';
  const TEAMS = '/repos/acme/app/permissions/teams';

  it('adds and changes a user grant, keeping the others, and answers every grant', async () => {
    await ok(base, 'PUT', '/repos/acme/app/permissions', {
      auth: as('olga'),
      body: { users: [{ username: 'tina', level: 'read' }], teams: [] },
    });
    const added = await ok(base, 'PUT', `${USERS}/Zed`, {
      auth: as('adam'),
      body: { level: 'write' },
    });
    expect(added).toEqual({
      users: [
        { username: 'tina', level: 'read' },
        { username: 'zed', level: 'write' },
      ],
      teams: [],
    });
    const changed = await ok(base, 'PUT', `${USERS}/zed`, {
      auth: as('olga'),
      body: { level: 'read' },
    });
    expect(changed.users).toEqual([
      { username: 'tina', level: 'read' },
      { username: 'zed', level: 'read' },
    ]);
    expect(await ok(base, 'GET', '/repos/acme/app/permissions', { auth: as('olga') })).toEqual(
      changed,
    );
  });

  it('takes effect at once for registry tokens (cached permission facts are invalidated)', async () => {
    // Warm the cached facts of the repository, then change one grant: the next token sees it.
    expect(await registryActions('zed', 'acme/app')).toEqual(['pull']);
    await ok(base, 'PUT', `${USERS}/zed`, { auth: as('olga'), body: { level: 'write' } });
    expect(await registryActions('zed', 'acme/app')).toEqual(['pull', 'push']);
    await ok(base, 'DELETE', `${USERS}/zed`, { auth: as('olga') });
    expect(await registryActions('zed', 'acme/app')).toEqual([]);
    expect((await api(base, 'GET', '/repos/acme/app', { auth: as('zed') })).status).toBe(404);

    expect(await registryActions('mike', 'acme/app')).toEqual([]);
    await ok(base, 'PUT', `${TEAMS}/devs`, { auth: as('olga'), body: { level: 'admin' } });
    expect(await registryActions('mike', 'acme/app')).toEqual(['delete', 'pull', 'push']);
    await ok(base, 'DELETE', `${TEAMS}/DEVS`, { auth: as('olga') });
    expect(await registryActions('mike', 'acme/app')).toEqual([]);
  });

  it('adds, changes and removes a team grant of the organization', async () => {
    const added = await ok(base, 'PUT', `${TEAMS}/devs`, {
      auth: as('olga'),
      body: { level: 'read' },
    });
    expect(added).toEqual({
      users: [{ username: 'tina', level: 'read' }],
      teams: [{ team: 'devs', level: 'read' }],
    });
    expect((await ok(base, 'GET', '/repos/acme/app', { auth: as('mike') })).permission).toBe(
      'read',
    );
    await ok(base, 'DELETE', `${TEAMS}/devs`, { auth: as('olga') });
    expect(await ok(base, 'GET', '/repos/acme/app/permissions', { auth: as('olga') })).toEqual({
      users: [{ username: 'tina', level: 'read' }],
      teams: [],
    });
  });

  it('answers 404 for a grant, user or team that does not exist', async () => {
    const none = await api(base, 'DELETE', `${USERS}/zed`, { auth: as('olga') });
    expect(none.status).toBe(404);
    expect(none.body.message).toBe('"zed" has no grant on "acme/app"');
    expect((await api(base, 'DELETE', `${TEAMS}/devs`, { auth: as('olga') })).status).toBe(404);
    const nobody = await api(base, 'PUT', `${USERS}/nobody`, {
      auth: as('olga'),
      body: { level: 'read' },
    });
    expect(nobody.status).toBe(404);
    expect(nobody.body.message).toContain('nobody');
    // A team of another organization is not a team of this repository's organization.
    const foreign = await api(base, 'PUT', `${TEAMS}/ops`, {
      auth: as('olga'),
      body: { level: 'read' },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toBe('team "ops" not found in "acme"');
  });

  it('refuses team grants on a repository of a user, and bad levels', async () => {
    const r = await api(base, 'PUT', '/repos/olga/tool/permissions/teams/devs', {
      auth: as('olga'),
      body: { level: 'read' },
    });
    expect(r.status).toBe(400);
    expect(r.body.message).toBe('team grants are only possible on repositories of an organization');
    for (const body of [{}, { level: 'owner' }, { level: 'read', extra: 1 }]) {
      const bad = await api(base, 'PUT', `${USERS}/tina`, { auth: as('olga'), body });
      expect({ body, status: bad.status }).toEqual({ body, status: 400 });
    }
  });

  it('is for repository admins only: 401 anonymous, 404 unseen, 403 without admin', async () => {
    const tries: [string, string, object?][] = [
      ['PUT', `${USERS}/tina`, { level: 'admin' }],
      ['DELETE', `${USERS}/tina`],
      ['PUT', `${TEAMS}/devs`, { level: 'admin' }],
      ['DELETE', `${TEAMS}/devs`],
    ];
    for (const [method, path, body] of tries) {
      expect((await api(base, method, path, { body })).status).toBe(401);
      // zed cannot see the private repository; tina can read it but is no admin.
      expect((await api(base, method, path, { auth: as('zed'), body })).status).toBe(404);
      expect((await api(base, method, path, { auth: as('tina'), body })).status).toBe(403);
      // A plain member of the organization gets nothing implicitly.
      expect((await api(base, method, path, { auth: as('mike'), body })).status).toBe(404);
    }
    // Nothing changed.
    expect(await ok(base, 'GET', '/repos/acme/app/permissions', { auth: as('olga') })).toEqual({
      users: [{ username: 'tina', level: 'read' }],
      teams: [],
    });
    // The system administrator may.
    await ok(base, 'PUT', `${USERS}/zed`, { auth: as('admin'), body: { level: 'read' } });
    await ok(base, 'DELETE', `${USERS}/zed`, { auth: as('admin') });
  });
});

describe('the replace-all PUT …/permissions', () => {
  it('names the missing list instead of complaining about its size', async () => {
    const noUsers = await api(base, 'PUT', '/repos/acme/app/permissions', {
      auth: as('olga'),
      body: { teams: [] },
    });
    expect(noUsers.status).toBe(400);
    expect(noUsers.body.message).toEqual([
      expect.stringMatching(/^users is missing: this PUT replaces every grant/),
    ]);
    expect(JSON.stringify(noUsers.body.message)).not.toContain('1000');
    const neither = await api(base, 'PUT', '/repos/acme/app/permissions', {
      auth: as('olga'),
      body: {},
    });
    expect(neither.body.message).toEqual([
      expect.stringMatching(/^users is missing/),
      expect.stringMatching(/^teams is missing/),
    ]);
    const notArray = await api(base, 'PUT', '/repos/acme/app/permissions', {
      auth: as('olga'),
      body: { users: 'tina', teams: [] },
    });
    expect(notArray.body.message).toContain('users must be an array of grants');
    const badGrant = await api(base, 'PUT', '/repos/acme/app/permissions', {
      auth: as('olga'),
      body: { users: [{ username: 'tina', level: 'owner' }], teams: [] },
    });
    expect(badGrant.status).toBe(400);
    expect(JSON.stringify(badGrant.body.message)).toContain('level');
  });
});

describe('PATCH /repos/{namespace}/{name}', () => {
  it('takes the description as a string, and null to clear it', async () => {
    const set = await ok(base, 'PATCH', '/repos/acme/app', {
      auth: as('olga'),
      body: { description: 'What the image is for' },
    });
    expect(set.description).toBe('What the image is for');
    const cleared = await ok(base, 'PATCH', '/repos/acme/app', {
      auth: as('olga'),
      body: { description: null },
    });
    expect(cleared.description).toBeNull();
    // What Swagger UI used to offer as the example body.
    expect(
      (
        await api(base, 'PATCH', '/repos/acme/app', {
          auth: as('olga'),
          body: { description: {} },
        })
      ).status,
    ).toBe(400);
  });
});

describe('repositories whose path ends in /permissions', () => {
  it('are reached with the name percent-encoded; raw slashes address the grants', async () => {
    await ok(base, 'POST', '/repos', {
      auth: as('olga'),
      body: { namespace: 'acme', name: 'team', visibility: 'private' },
    });
    await ok(base, 'POST', '/repos', {
      auth: as('olga'),
      body: { namespace: 'acme', name: 'team/permissions', visibility: 'private' },
    });
    const enc = '/repos/acme/team%2Fpermissions';
    expect(await ok(base, 'GET', enc, { auth: as('olga') })).toMatchObject({
      name: 'acme/team/permissions',
      tags: [],
    });
    // Raw: the grants of acme/team.
    expect(await ok(base, 'GET', '/repos/acme/team/permissions', { auth: as('olga') })).toEqual({
      users: [],
      teams: [],
    });
    // Grants of acme/team/permissions itself, and one-grant changes of it.
    await ok(base, 'PUT', `${enc}/permissions/users/tina`, {
      auth: as('olga'),
      body: { level: 'read' },
    });
    expect(await ok(base, 'GET', `${enc}/permissions`, { auth: as('olga') })).toEqual({
      users: [{ username: 'tina', level: 'read' }],
      teams: [],
    });
    expect(await ok(base, 'GET', '/repos/acme/team/permissions', { auth: as('olga') })).toEqual({
      users: [],
      teams: [],
    });
    // PATCH and DELETE have no grant counterpart: raw and encoded both name the repository.
    const patched = await ok(base, 'PATCH', '/repos/acme/team/permissions', {
      auth: as('olga'),
      body: { visibility: 'public' },
    });
    expect(patched).toMatchObject({ name: 'acme/team/permissions', visibility: 'public' });
    expect((await ok(base, 'PATCH', enc, { auth: as('olga'), body: {} })).visibility).toBe(
      'public',
    );
    await ok(base, 'DELETE', enc, { auth: as('olga') });
    expect((await api(base, 'GET', enc, { auth: as('olga') })).status).toBe(404);
    expect((await ok(base, 'GET', '/repos/acme/team', { auth: as('olga') })).name).toBe(
      'acme/team',
    );
  });

  it('and so are repositories named like a one-grant route', async () => {
    await ok(base, 'POST', '/repos', {
      auth: as('olga'),
      body: { namespace: 'acme', name: 'x/permissions/users/tina', visibility: 'private' },
    });
    const enc = '/repos/acme/x%2Fpermissions%2Fusers%2Ftina';
    expect((await ok(base, 'GET', enc, { auth: as('olga') })).name).toBe(
      'acme/x/permissions/users/tina',
    );
    // Raw, the DELETE is the removal of tina's grant on acme/x, which does not exist.
    expect(
      (await api(base, 'DELETE', '/repos/acme/x/permissions/users/tina', { auth: as('olga') }))
        .status,
    ).toBe(404);
    await ok(base, 'DELETE', enc, { auth: as('olga') });
    expect((await api(base, 'GET', enc, { auth: as('olga') })).status).toBe(404);
  });
});

describe('DELETE /repos/{namespace}/{name}/tags/{tag}', () => {
  const reg = (who: string) =>
    new RegistryClient(base, { authorization: basicHeader(u[who].username, u[who].password) });

  it('removes the tag for repository admins; the manifest stays and the registry stops serving the tag at once', async () => {
    await ok(base, 'POST', '/repos', {
      auth: as('olga'),
      body: { namespace: 'acme', name: 'tagged/img', visibility: 'private' },
    });
    const olga = reg('olga');
    const { digest, body } = await olga.pushImage('acme/tagged/img', 'v1', ['layer-a']);
    expect((await olga.putManifest('acme/tagged/img', 'v2', body)).status).toBe(201);
    // Served (and so cached) by tag before the delete.
    expect((await olga.fetch('/v2/acme/tagged/img/manifests/v1', { method: 'HEAD' })).status).toBe(
      200,
    );
    // Percent-encoded, as OpenAPI clients (the CLI) send the name.
    const res = await api(base, 'DELETE', '/repos/acme/tagged%2Fimg/tags/v1', { auth: as('olga') });
    expect([res.status, res.body]).toEqual([204, undefined]);
    expect((await olga.fetch('/v2/acme/tagged/img/manifests/v1', { method: 'HEAD' })).status).toBe(
      404,
    );
    expect(
      (await olga.fetch(`/v2/acme/tagged/img/manifests/${digest}`, { method: 'HEAD' })).status,
    ).toBe(200);
    const details = await ok(base, 'GET', '/repos/acme/tagged%2Fimg', { auth: as('olga') });
    expect(details.tags.map((t: Json) => t.name)).toEqual(['v2']);
    // With raw slashes the path addresses the tag too.
    await ok(base, 'DELETE', '/repos/acme/tagged/img/tags/v2', { auth: as('olga') });
    expect((await ok(base, 'GET', '/repos/acme/tagged%2Fimg', { auth: as('olga') })).tags).toEqual(
      [],
    );
  });

  it('answers 404 for a missing tag and 400 for an invalid one, and is for repository admins only', async () => {
    const path = '/repos/acme/tagged%2Fimg';
    await reg('olga').pushImage('acme/tagged/img', 'v3', ['layer-b']);
    await ok(base, 'PUT', `${path}/permissions/users/mike`, {
      auth: as('olga'),
      body: { level: 'write' },
    });
    await ok(base, 'PUT', `${path}/permissions/users/tina`, {
      auth: as('olga'),
      body: { level: 'read' },
    });
    const del = (who: Auth, tag = 'v3') =>
      api(base, 'DELETE', `${path}/tags/${tag}`, { auth: who });
    expect((await del(as('olga'), 'nope')).status).toBe(404);
    expect((await del(as('olga'), '-bad')).status).toBe(400);
    expect((await del(as('olga'), 'x'.repeat(129))).status).toBe(400);
    expect((await del(undefined)).status).toBe(401);
    expect((await del(as('zed'))).status).toBe(404); // cannot see the private repository
    expect((await del(as('tina'))).status).toBe(403);
    expect((await del(as('mike'))).status).toBe(403); // write may push, not delete
    expect((await del(as('adam'))).status).toBe(204); // organization admin
    expect((await del(as('olga'))).status).toBe(404);
  });
});
