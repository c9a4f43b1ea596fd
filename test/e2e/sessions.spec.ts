import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, startServer, type TestServer } from '../support/server.js';
import {
  ADMIN,
  api,
  basicHeader,
  type Json,
  ok,
  registerAndLogin,
  type TestUser,
} from './identity-support.js';

// Two nodes on one database: a session ended on A must be refused on B at once.
let a: TestServer;
let b: TestServer;
let alice: TestUser;
let bob: TestUser;

async function loginAs(base: string, who: TestUser, userAgent: string) {
  const r = await api(base, 'POST', '/auth/login', {
    body: { username: who.username, password: who.password },
    headers: { 'user-agent': userAgent },
  });
  expect(r.status).toBe(200);
  return r.body as { accessToken: string; refreshToken: string };
}

async function sessions(base: string, bearer: string): Promise<Json[]> {
  return (await ok(base, 'GET', '/auth/sessions?perPage=100', { auth: { bearer } })).items;
}

/** A `docker login` identity token (a registry session) and a registry token obtained with it. */
async function dockerLogin(base: string, who: TestUser) {
  const res = await fetch(`${base}/auth/token?service=aerugo&offline_token=true&client_id=docker`, {
    headers: { authorization: basicHeader(who.username, who.password), 'user-agent': 'docker/27' },
  });
  expect(res.status).toBe(200);
  const identity = ((await res.json()) as Json).refresh_token as string;
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: identity,
    service: 'aerugo',
    client_id: 'docker',
  });
  const exchanged = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'docker/27' },
    body: form,
  });
  expect(exchanged.status).toBe(200);
  return { identity, registryToken: ((await exchanged.json()) as Json).access_token as string };
}

beforeAll(async () => {
  const databaseUrl = await createTestDatabase();
  const env = { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password };
  a = await startServer({ databaseUrl, env });
  b = await startServer({ databaseUrl, env });
  alice = await registerAndLogin(a.url, 'alice');
  bob = await registerAndLogin(a.url, 'bob');
}, 180_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

describe('GET /api/v1/auth/sessions', () => {
  it("lists the caller's live sessions with client, times and the current one flagged", async () => {
    const cli = await loginAs(a.url, alice, 'aerugo-cli/1.0');
    const browser = await loginAs(b.url, alice, 'Mozilla/5.0 (X11; Linux x86_64)');
    const list = await sessions(a.url, cli.accessToken);
    // The session of registerAndLogin, and the two above.
    expect(list).toHaveLength(3);
    const current = list.filter((s) => s.current);
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({
      kind: 'api',
      userAgent: 'aerugo-cli/1.0',
      lastUsedAt: null,
    });
    expect(current[0].clientAddress).toMatch(/127\.0\.0\.1/);
    expect(Object.keys(current[0]).sort()).toEqual([
      'clientAddress',
      'createdAt',
      'current',
      'expiresAt',
      'id',
      'kind',
      'lastUsedAt',
      'userAgent',
    ]);
    expect(Date.parse(current[0].expiresAt)).toBeGreaterThan(Date.now());
    expect(JSON.stringify(list)).not.toContain(cli.refreshToken);
    // Seen from the other session, that one is current instead.
    const other = await sessions(b.url, browser.accessToken);
    expect(other.find((s) => s.current).userAgent).toBe('Mozilla/5.0 (X11; Linux x86_64)');
    expect(other.find((s) => s.current).id).not.toBe(current[0].id);
  });

  it('records a refresh: last use and the client of the refresh', async () => {
    const first = await loginAs(a.url, alice, 'first-agent');
    const before = (await sessions(a.url, first.accessToken)).find((s) => s.current);
    const r = await api(a.url, 'POST', '/auth/refresh', {
      body: { refreshToken: first.refreshToken },
      headers: { 'user-agent': 'second-agent' },
    });
    expect(r.status).toBe(200);
    const after = (await sessions(a.url, r.body.accessToken)).find((s) => s.current);
    expect(after.id).toBe(before.id);
    expect(after.lastUsedAt).not.toBeNull();
    expect(after.userAgent).toBe('second-agent');
    // Most recently used first.
    expect((await sessions(a.url, r.body.accessToken))[0].id).toBe(after.id);
  });

  it('lists docker login sessions as kind "registry"', async () => {
    await dockerLogin(a.url, bob);
    const list = await sessions(a.url, bob.accessToken);
    expect(list.map((s) => s.kind).sort()).toEqual(['api', 'registry']);
    expect(list.find((s) => s.kind === 'registry').userAgent).toBe('docker/27');
  });

  it("shows no other user's sessions, pages, and answers API-key callers with none current", async () => {
    const bobs = await sessions(a.url, bob.accessToken);
    const alices = await sessions(a.url, alice.accessToken);
    expect(bobs.some((s) => alices.some((x) => x.id === s.id))).toBe(false);
    const page = await ok(a.url, 'GET', '/auth/sessions?perPage=1&page=2', {
      auth: { bearer: alice.accessToken },
    });
    expect(page).toMatchObject({ page: 2, perPage: 1, total: alices.length });
    expect(page.items).toHaveLength(1);
    const key = await ok(a.url, 'POST', '/api-keys', {
      auth: { bearer: alice.accessToken },
      body: { name: 'sessions-test' },
    });
    expect(await sessions(a.url, key.key)).toHaveLength(alices.length); // Bearer ak_…
    const listed = await ok(a.url, 'GET', '/auth/sessions', { auth: { apiKey: key.key } });
    expect(listed.items.length).toBe(alices.length);
    expect(listed.items.some((s: Json) => s.current)).toBe(false);
  });

  it('refuses anonymous callers and bad paging', async () => {
    expect((await api(a.url, 'GET', '/auth/sessions')).status).toBe(401);
    expect(
      (await api(a.url, 'GET', '/auth/sessions?perPage=0', { auth: { bearer: bob.accessToken } }))
        .status,
    ).toBe(400);
  });
});

describe('DELETE /api/v1/auth/sessions/{id}', () => {
  it('ends a session at once on every node: its refresh token and access tokens stop working', async () => {
    const keep = await loginAs(a.url, alice, 'keep');
    const end = await loginAs(b.url, alice, 'to-be-ended');
    const target = (await sessions(b.url, end.accessToken)).find((s) => s.current);
    // Works on both nodes before.
    for (const base of [a.url, b.url])
      expect(
        (await api(base, 'GET', '/auth/me', { auth: { bearer: end.accessToken } })).status,
      ).toBe(200);
    expect(
      (
        await api(a.url, 'DELETE', `/auth/sessions/${target.id}`, {
          auth: { bearer: keep.accessToken },
        })
      ).status,
    ).toBe(204);
    for (const base of [a.url, b.url]) {
      const me = await api(base, 'GET', '/auth/me', { auth: { bearer: end.accessToken } });
      expect({ base, status: me.status }).toEqual({ base, status: 401 });
    }
    const refreshed = await api(b.url, 'POST', '/auth/refresh', {
      body: { refreshToken: end.refreshToken },
    });
    expect(refreshed.status).toBe(401);
    // Gone from the list; the session that ended it still works.
    expect((await sessions(a.url, keep.accessToken)).some((s) => s.id === target.id)).toBe(false);
    expect(
      (await api(b.url, 'GET', '/auth/me', { auth: { bearer: keep.accessToken } })).status,
    ).toBe(200);
    // Ending it again: there is no such live session any more.
    expect(
      (
        await api(a.url, 'DELETE', `/auth/sessions/${target.id}`, {
          auth: { bearer: keep.accessToken },
        })
      ).status,
    ).toBe(404);
  });

  it('ends a docker login: its identity token and the registry tokens made with it stop working', async () => {
    const { identity, registryToken } = await dockerLogin(a.url, bob);
    const v2 = (base: string) =>
      fetch(`${base}/v2/`, { headers: { authorization: `Bearer ${registryToken}` } }).then(
        (r) => r.status,
      );
    expect(await v2(b.url)).toBe(200);
    const registry = (await sessions(a.url, bob.accessToken)).filter(
      (s) => s.kind === 'registry' && s.userAgent === 'docker/27',
    );
    expect(registry).toHaveLength(2);
    for (const s of registry)
      await ok(a.url, 'DELETE', `/auth/sessions/${s.id}`, { auth: { bearer: bob.accessToken } });
    expect(await v2(b.url)).toBe(401);
    const again = await fetch(`${b.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: identity,
        service: 'aerugo',
        client_id: 'docker',
      }),
    });
    expect(again.status).toBe(401);
  });

  it("may end the caller's own current session", async () => {
    const s = await loginAs(a.url, bob, 'self');
    const me = (await sessions(a.url, s.accessToken)).find((x) => x.current);
    expect(
      (await api(b.url, 'DELETE', `/auth/sessions/${me.id}`, { auth: { bearer: s.accessToken } }))
        .status,
    ).toBe(204);
    expect((await api(a.url, 'GET', '/auth/me', { auth: { bearer: s.accessToken } })).status).toBe(
      401,
    );
  });

  it("cannot end another user's session (404, as for a missing one), nor without credentials", async () => {
    const victim = await loginAs(a.url, alice, 'victim');
    const id = (await sessions(a.url, victim.accessToken)).find((s) => s.current).id;
    const r = await api(a.url, 'DELETE', `/auth/sessions/${id}`, {
      auth: { bearer: bob.accessToken },
    });
    expect(r.status).toBe(404);
    expect((await api(a.url, 'DELETE', `/auth/sessions/${id}`)).status).toBe(401);
    expect(
      (await api(a.url, 'GET', '/auth/me', { auth: { bearer: victim.accessToken } })).status,
    ).toBe(200);
    expect(
      (
        await api(a.url, 'DELETE', '/auth/sessions/00000000-0000-4000-8000-000000000000', {
          auth: { bearer: bob.accessToken },
        })
      ).status,
    ).toBe(404);
    const bad = await api(a.url, 'DELETE', '/auth/sessions/not-a-uuid', {
      auth: { bearer: bob.accessToken },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.message)).toContain('session id');
  });
});

describe('the refresh token as an httpOnly cookie (refreshCookie, for browsers)', () => {
  /** The refresh cookie a response sets: its value and attributes. */
  function cookieOf(headers: Headers): { value: string; attributes: string } | undefined {
    const set = headers.getSetCookie().find((c) => c.startsWith('aerugo_refresh='));
    if (!set) return undefined;
    const [pair, ...attrs] = set.split(';');
    return { value: pair.slice('aerugo_refresh='.length), attributes: attrs.join(';').trim() };
  }
  const withCookie = (value: string) => ({ cookie: `other=1; aerugo_refresh=${value}` });

  it('sets it httpOnly, SameSite=Strict, for the auth paths only, and leaves it out of the body', async () => {
    const r = await api(a.url, 'POST', '/auth/login', {
      body: { username: alice.username, password: alice.password, refreshCookie: true },
    });
    expect(r.status).toBe(200);
    expect(r.body.refreshToken).toBeUndefined();
    expect(r.body.accessToken).toEqual(expect.any(String));
    const c = cookieOf(r.headers)!;
    expect(c.value).toMatch(/^rt_/);
    expect(c.attributes).toContain('HttpOnly');
    expect(c.attributes).toContain('SameSite=Strict');
    expect(c.attributes).toContain('Path=/api/v1/auth');
    expect(c.attributes).toMatch(/Max-Age=\d+/);
    expect(c.attributes).not.toContain('Secure'); // plain HTTP here
    // Without the option the body carries it, as before.
    const plain = await api(a.url, 'POST', '/auth/login', {
      body: { username: alice.username, password: alice.password },
    });
    expect(plain.body.refreshToken).toMatch(/^rt_/);
    expect(cookieOf(plain.headers)).toBeUndefined();
  });

  it('refreshes from the cookie (on any node), rotating it; a reused cookie ends the session', async () => {
    const login = await api(a.url, 'POST', '/auth/login', {
      body: { username: alice.username, password: alice.password, refreshCookie: true },
    });
    const first = cookieOf(login.headers)!.value;
    const r = await api(b.url, 'POST', '/auth/refresh', { body: {}, headers: withCookie(first) });
    expect(r.status).toBe(200);
    expect(r.body.refreshToken).toBeUndefined();
    const second = cookieOf(r.headers)!.value;
    expect(second).not.toBe(first);
    await ok(a.url, 'GET', '/auth/me', { auth: { bearer: r.body.accessToken } });
    // The old cookie again: reuse, so the session ends (and the cookie is cleared).
    const reused = await api(a.url, 'POST', '/auth/refresh', {
      body: {},
      headers: withCookie(first),
    });
    expect(reused.status).toBe(401);
    expect(cookieOf(reused.headers)).toEqual({
      value: '',
      attributes: expect.stringContaining('Max-Age=0'),
    });
    const after = await api(a.url, 'POST', '/auth/refresh', {
      body: {},
      headers: withCookie(second),
    });
    expect(after.status).toBe(401);
  });

  it('refuses a refresh with neither a token nor a cookie, or with a malformed cookie', async () => {
    const none = await api(a.url, 'POST', '/auth/refresh', { body: {} });
    expect([none.status, none.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const bad = await api(a.url, 'POST', '/auth/refresh', {
      body: {},
      headers: { cookie: 'aerugo_refresh=%00bad' },
    });
    expect(bad.status).toBe(400);
  });

  it('signs out with the cookie: the session ends and the cookie is cleared', async () => {
    const login = await api(a.url, 'POST', '/auth/login', {
      body: { username: alice.username, password: alice.password, refreshCookie: true },
    });
    const value = cookieOf(login.headers)!.value;
    const out = await api(a.url, 'POST', '/auth/logout', { body: {}, headers: withCookie(value) });
    expect(out.status).toBe(204);
    expect(cookieOf(out.headers)?.attributes).toContain('Max-Age=0');
    const r = await api(a.url, 'POST', '/auth/refresh', { body: {}, headers: withCookie(value) });
    expect(r.status).toBe(401);
    const me = await api(a.url, 'GET', '/auth/me', { auth: { bearer: login.body.accessToken } });
    expect(me.status).toBe(401);
  });
});
