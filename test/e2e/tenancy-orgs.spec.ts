import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startServer, type TestServer } from '../support/server.js';
import { ADMIN, api, type Auth, ok, registerAndLogin, type TestUser } from './identity-support.js';

let server: TestServer;
let base: string;
const u: Record<string, TestUser> = {};
const as = (name: string): Auth => ({ bearer: u[name].accessToken });

beforeAll(async () => {
  server = await startServer({
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  base = server.url;
  for (const name of ['olga', 'adam', 'mike', 'nina', 'zed'])
    u[name] = await registerAndLogin(base, name);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('organizations', () => {
  it('share one namespace of names with users', async () => {
    const created = await ok(base, 'POST', '/orgs', {
      auth: as('olga'),
      body: { name: 'Initech', displayName: 'Initech Inc.' },
    });
    expect(created).toMatchObject({ name: 'initech', displayName: 'Initech Inc.', role: 'owner' });
    expect(
      (await api(base, 'POST', '/orgs', { auth: as('adam'), body: { name: 'INITECH' } })).status,
    ).toBe(409);
    expect(
      (await api(base, 'POST', '/orgs', { auth: as('adam'), body: { name: 'mike' } })).status,
    ).toBe(409);
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'initech', password: 'long-enough-pw' },
        })
      ).status,
    ).toBe(409);
    expect(
      (await api(base, 'POST', '/orgs', { auth: as('adam'), body: { name: 'api' } })).status,
    ).toBe(409);
    expect(
      (await api(base, 'POST', '/orgs', { auth: as('adam'), body: { name: 'bad name' } })).status,
    ).toBe(400);
    expect((await api(base, 'POST', '/orgs', { body: { name: 'anon-org' } })).status).toBe(401);
  });

  it("shows an organization to anyone, with the caller's role", async () => {
    expect(await ok(base, 'GET', '/orgs/initech')).not.toHaveProperty('role');
    expect((await ok(base, 'GET', '/orgs/INITECH', { auth: as('olga') })).role).toBe('owner');
    expect((await ok(base, 'GET', '/orgs/initech', { auth: as('zed') })).role).toBeNull();
    expect((await api(base, 'GET', '/orgs/nope')).status).toBe(404);
  });

  it('manages members with owner/admin/member roles', async () => {
    await ok(base, 'POST', '/orgs/initech/members', {
      auth: as('olga'),
      body: { username: 'adam', role: 'admin' },
    });
    await ok(base, 'POST', '/orgs/initech/members', {
      auth: as('adam'),
      body: { username: 'mike', role: 'member' },
    });
    // Admins may not hand out ownership; members may not manage members at all.
    expect(
      (
        await api(base, 'POST', '/orgs/initech/members', {
          auth: as('adam'),
          body: { username: 'nina', role: 'owner' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(base, 'POST', '/orgs/initech/members', {
          auth: as('mike'),
          body: { username: 'nina', role: 'member' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(base, 'POST', '/orgs/initech/members', {
          auth: as('olga'),
          body: { username: 'mike', role: 'member' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await api(base, 'POST', '/orgs/initech/members', {
          auth: as('olga'),
          body: { username: 'ghost', role: 'member' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await api(base, 'POST', '/orgs/initech/members', {
          auth: as('olga'),
          body: { username: 'nina', role: 'boss' },
        })
      ).status,
    ).toBe(400);
    const members = await ok(base, 'GET', '/orgs/initech/members', { auth: as('mike') });
    expect(
      members.map((m: { user: { username: string }; role: string }) => [m.user.username, m.role]),
    ).toEqual([
      ['adam', 'admin'],
      ['mike', 'member'],
      ['olga', 'owner'],
    ]);
    expect((await api(base, 'GET', '/orgs/initech/members', { auth: as('zed') })).status).toBe(403);
    await ok(base, 'PATCH', '/orgs/initech/members/mike', {
      auth: as('adam'),
      body: { role: 'admin' },
    });
    await ok(base, 'PATCH', '/orgs/initech/members/mike', {
      auth: as('adam'),
      body: { role: 'member' },
    });
    expect(
      (
        await api(base, 'PATCH', '/orgs/initech/members/olga', {
          auth: as('adam'),
          body: { role: 'member' },
        })
      ).status,
    ).toBe(403);
  });

  it('never leaves an organization without an owner', async () => {
    expect(
      (
        await api(base, 'PATCH', '/orgs/initech/members/olga', {
          auth: as('olga'),
          body: { role: 'admin' },
        })
      ).status,
    ).toBe(409);
    expect(
      (await api(base, 'DELETE', '/orgs/initech/members/olga', { auth: as('olga') })).status,
    ).toBe(409);
    await ok(base, 'PATCH', '/orgs/initech/members/adam', {
      auth: as('olga'),
      body: { role: 'owner' },
    });
    await ok(base, 'PATCH', '/orgs/initech/members/olga', {
      auth: as('olga'),
      body: { role: 'admin' },
    });
    await ok(base, 'PATCH', '/orgs/initech/members/olga', {
      auth: as('adam'),
      body: { role: 'owner' },
    });
  });

  it('never loses its last owner to two owners removing or demoting each other at once', async () => {
    const owners = async (org: string): Promise<string[]> =>
      (
        await ok(base, 'GET', `/orgs/${org}/members`, {
          auth: { basic: [ADMIN.username, ADMIN.password] },
        })
      )
        .filter((m: { role: string }) => m.role === 'owner')
        .map((m: { user: { username: string } }) => m.user.username);
    const kinds = ['remove', 'demote', 'leave', 'mixed'] as const;
    for (let i = 0; i < 16; i++) {
      const kind = kinds[i % kinds.length];
      const org = `race${i}`;
      await ok(base, 'POST', '/orgs', { auth: as('nina'), body: { name: org } });
      await ok(base, 'POST', `/orgs/${org}/members`, {
        auth: as('nina'),
        body: { username: 'zed', role: 'owner' },
      });
      const removeOther = (actor: string, other: string) =>
        api(base, 'DELETE', `/orgs/${org}/members/${other}`, { auth: as(actor) });
      const demoteOther = (actor: string, other: string) =>
        api(base, 'PATCH', `/orgs/${org}/members/${other}`, {
          auth: as(actor),
          body: { role: 'member' },
        });
      const leave = (actor: string) =>
        api(base, 'DELETE', `/orgs/${org}/members/${actor}`, { auth: as(actor) });
      const [first, second] = await Promise.all(
        kind === 'remove'
          ? [removeOther('nina', 'zed'), removeOther('zed', 'nina')]
          : kind === 'demote'
            ? [demoteOther('nina', 'zed'), demoteOther('zed', 'nina')]
            : kind === 'leave'
              ? [leave('nina'), leave('zed')]
              : [removeOther('nina', 'zed'), demoteOther('zed', 'nina')],
      );
      const statuses = [first.status, second.status];
      // Exactly one of the two changes happens; the other finds the last owner (409) or that its
      // actor is no longer an owner (403/404).
      expect({ org, kind, ok: statuses.filter((st) => st < 300).length }).toEqual({
        org,
        kind,
        ok: 1,
      });
      expect({ org, kind, owners: (await owners(org)).length }).toEqual({ org, kind, owners: 1 });
    }
  });

  it('refuses to delete a user who is the only owner of an organization', async () => {
    const root: Auth = { basic: [ADMIN.username, ADMIN.password] };
    const solo = await registerAndLogin(base, 'solo');
    await ok(base, 'POST', '/orgs', {
      auth: { bearer: solo.accessToken },
      body: { name: 'soloco' },
    });
    const refused = await api(base, 'DELETE', '/users/solo', { auth: root });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/only owner of the organization "soloco"/);
    await ok(base, 'POST', '/orgs/soloco/members', {
      auth: { bearer: solo.accessToken },
      body: { username: 'zed', role: 'owner' },
    });
    await ok(base, 'DELETE', '/users/solo', { auth: root });
    const left = await ok(base, 'GET', '/orgs/soloco/members', { auth: root });
    expect(left.map((m: { user: { username: string } }) => m.user.username)).toEqual(['zed']);
  });

  it('updates an organization (owners and admins only)', async () => {
    expect(
      (await api(base, 'PATCH', '/orgs/initech', { auth: as('mike'), body: { description: 'x' } }))
        .status,
    ).toBe(403);
    const updated = await ok(base, 'PATCH', '/orgs/initech', {
      auth: as('adam'),
      body: { description: 'Software' },
    });
    expect(updated.description).toBe('Software');
  });
});

describe('teams', () => {
  it('are created and managed by owners and admins, listed by members', async () => {
    const team = await ok(base, 'POST', '/orgs/initech/teams', {
      auth: as('adam'),
      body: { name: 'Devs', description: 'Developers' },
    });
    expect(team).toMatchObject({ name: 'devs', organization: 'initech', members: 0 });
    expect(
      (await api(base, 'POST', '/orgs/initech/teams', { auth: as('adam'), body: { name: 'devs' } }))
        .status,
    ).toBe(409);
    expect(
      (await api(base, 'POST', '/orgs/initech/teams', { auth: as('mike'), body: { name: 'ops' } }))
        .status,
    ).toBe(403);
    await ok(base, 'PUT', '/orgs/initech/teams/devs/members/mike', { auth: as('adam') });
    await ok(base, 'PUT', '/orgs/initech/teams/devs/members/mike', { auth: as('adam') });
    // Only organization members can join a team.
    expect(
      (await api(base, 'PUT', '/orgs/initech/teams/devs/members/zed', { auth: as('adam') })).status,
    ).toBe(409);
    expect(
      (await ok(base, 'GET', '/orgs/initech/teams/devs/members', { auth: as('mike') })).map(
        (x: { username: string }) => x.username,
      ),
    ).toEqual(['mike']);
    expect((await ok(base, 'GET', '/orgs/initech/teams', { auth: as('mike') }))[0]).toMatchObject({
      name: 'devs',
      members: 1,
    });
    expect((await api(base, 'GET', '/orgs/initech/teams', { auth: as('zed') })).status).toBe(403);
    expect(
      (
        await ok(base, 'PATCH', '/orgs/initech/teams/devs', {
          auth: as('olga'),
          body: { description: 'Dev team' },
        })
      ).description,
    ).toBe('Dev team');
    expect(
      (await ok(base, 'GET', '/orgs/initech/teams/DEVS', { auth: as('mike') })).description,
    ).toBe('Dev team');
    expect((await api(base, 'GET', '/orgs/initech/teams/nope', { auth: as('mike') })).status).toBe(
      404,
    );
  });

  it("team grants give access to the organization's private repositories", async () => {
    await ok(base, 'POST', '/repos', {
      auth: as('adam'),
      body: { namespace: 'initech', name: 'tps/reports', visibility: 'private' },
    });
    expect(
      (await api(base, 'GET', '/repos/initech/tps/reports', { auth: as('mike') })).status,
    ).toBe(404);
    // Members cannot create repositories in the organization.
    expect(
      (
        await api(base, 'POST', '/repos', {
          auth: as('mike'),
          body: { namespace: 'initech', name: 'mine' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(base, 'POST', '/repos', {
          auth: as('mike'),
          body: { namespace: 'nowhere', name: 'x' },
        })
      ).status,
    ).toBe(404);
    await ok(base, 'PUT', '/repos/initech/tps/reports/permissions', {
      auth: as('olga'),
      body: { users: [], teams: [{ team: 'devs', level: 'read' }] },
    });
    const seen = await ok(base, 'GET', '/repos/initech/tps/reports', { auth: as('mike') });
    expect(seen).toMatchObject({ name: 'initech/tps/reports', permission: 'read', tags: [] });
    const search = await ok(base, 'GET', '/repos?q=tps', { auth: as('mike') });
    expect(search.items.map((r: { name: string }) => r.name)).toEqual(['initech/tps/reports']);
    expect((await ok(base, 'GET', '/repos?q=tps')).total).toBe(0);
    // Leaving the organization drops the team membership, and with it the access.
    await ok(base, 'DELETE', '/orgs/initech/members/mike', { auth: as('mike') });
    expect(
      (await api(base, 'GET', '/repos/initech/tps/reports', { auth: as('mike') })).status,
    ).toBe(404);
  });

  it('deleting a team removes its grants', async () => {
    await ok(base, 'POST', '/orgs/initech/members', {
      auth: as('olga'),
      body: { username: 'nina', role: 'member' },
    });
    await ok(base, 'POST', '/orgs/initech/teams', { auth: as('olga'), body: { name: 'temp' } });
    await ok(base, 'PUT', '/orgs/initech/teams/temp/members/nina', { auth: as('olga') });
    await ok(base, 'PUT', '/repos/initech/tps/reports/permissions', {
      auth: as('olga'),
      body: { users: [], teams: [{ team: 'temp', level: 'write' }] },
    });
    expect(
      (await ok(base, 'GET', '/repos/initech/tps/reports', { auth: as('nina') })).permission,
    ).toBe('write');
    await ok(base, 'DELETE', '/orgs/initech/teams/temp/members/nina', { auth: as('olga') });
    expect(
      (await api(base, 'GET', '/repos/initech/tps/reports', { auth: as('nina') })).status,
    ).toBe(404);
    await ok(base, 'PUT', '/orgs/initech/teams/temp/members/nina', { auth: as('olga') });
    await ok(base, 'DELETE', '/orgs/initech/teams/temp', { auth: as('olga') });
    expect(
      (await api(base, 'GET', '/repos/initech/tps/reports', { auth: as('nina') })).status,
    ).toBe(404);
    expect(
      (await ok(base, 'GET', '/repos/initech/tps/reports/permissions', { auth: as('olga') })).teams,
    ).toEqual([]);
  });
});

describe('deleting organizations', () => {
  it('needs an owner and an empty namespace; the name is free afterwards', async () => {
    expect((await api(base, 'DELETE', '/orgs/initech', { auth: as('adam') })).status).toBe(409);
    expect((await api(base, 'DELETE', '/orgs/initech', { auth: as('nina') })).status).toBe(403);
    await ok(base, 'DELETE', '/repos/initech/tps/reports', { auth: as('adam') });
    await ok(base, 'DELETE', '/orgs/initech', { auth: as('olga') });
    expect((await api(base, 'GET', '/orgs/initech')).status).toBe(404);
    await ok(base, 'POST', '/orgs', { auth: as('zed'), body: { name: 'initech' } });
  });

  it('system administrators act as owners of every organization', async () => {
    const root: Auth = { basic: [ADMIN.username, ADMIN.password] };
    expect((await ok(base, 'GET', '/orgs/initech/members', { auth: root })).length).toBe(1);
    await ok(base, 'DELETE', '/orgs/initech', { auth: root });
  });
});
