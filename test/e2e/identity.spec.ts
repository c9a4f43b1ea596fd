import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/registry.js';
import {
  ADMIN,
  api,
  basicHeader,
  decodeJwt,
  freshCopy,
  type Json,
  JWT_SECRET,
  login,
  ok,
  registerAndLogin,
  registryToken,
  type TestUser,
} from './identity-support.js';

let server: TestServer;
let base: string;
const secrets: string[] = [];

beforeAll(async () => {
  server = await startServer({
    env: {
      JWT_SECRET,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'debug',
    },
  });
  base = server.url;
  secrets.push(ADMIN.password, JWT_SECRET);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

function remember<T extends { password?: string; accessToken?: string; refreshToken?: string }>(
  u: T,
): T {
  for (const s of [u.password, u.accessToken, u.refreshToken]) if (s) secrets.push(s);
  return u;
}

describe('registration and sign-in', () => {
  it('registers users with names reserved case-insensitively', async () => {
    const r = await api(base, 'POST', '/auth/register', {
      body: { username: 'Alice', password: 'alice-password', email: 'alice@example.com' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      username: 'alice',
      email: 'alice@example.com',
      isAdmin: false,
      active: true,
    });
    expect(JSON.stringify(r.body)).not.toMatch(/password|hash/i);
    secrets.push('alice-password');
    for (const username of ['alice', 'ALICE', ' aLiCe ']) {
      expect(
        (
          await api(base, 'POST', '/auth/register', {
            body: { username, password: 'another-password' },
          })
        ).status,
      ).toBe(409);
    }
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'me', password: 'another-password' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'bob', password: 'x', email: 'nope' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'a/b', password: 'long-enough' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'bob', password: 'long-enough', isAdmin: true },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'bob2', password: 'long-enough', email: 'ALICE@example.com' },
        })
      ).status,
    ).toBe(409);
  });

  it('logs in with the password only and tells nothing about which part was wrong', async () => {
    const alice = remember(await login(base, 'ALICE', 'alice-password'));
    expect(decodeJwt(alice.accessToken)).toMatchObject({
      typ: 'access',
      aud: 'aerugo-api',
      iss: 'aerugo',
    });
    const me = await ok(base, 'GET', '/auth/me', { auth: { bearer: alice.accessToken } });
    expect(me.username).toBe('alice');
    const wrong = await api(base, 'POST', '/auth/login', {
      body: { username: 'alice', password: 'wrong-password' },
    });
    const unknown = await api(base, 'POST', '/auth/login', {
      body: { username: 'nobody', password: 'wrong-password' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
    expect((await api(base, 'GET', '/auth/me')).status).toBe(401);
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: 'garbage' } })).status).toBe(401);
    expect(
      (await api(base, 'GET', '/auth/me', { auth: { headers: { authorization: 'Digest x' } } }))
        .status,
    ).toBe(401);
  });

  it('rotates refresh tokens and revokes the whole family when a used one comes back', async () => {
    const s = remember(await login(base, 'alice', 'alice-password'));
    const next = remember(
      await ok(base, 'POST', '/auth/refresh', {
        body: { refreshToken: s.refreshToken },
        expect: 200,
      }),
    );
    expect(next.refreshToken).not.toBe(s.refreshToken);
    expect(
      (await api(base, 'GET', '/auth/me', { auth: { bearer: next.accessToken } })).status,
    ).toBe(200);
    // The first token again: reuse. Its session ends, with every token of the family.
    expect(
      (await api(base, 'POST', '/auth/refresh', { body: { refreshToken: s.refreshToken } })).status,
    ).toBe(401);
    expect(
      (await api(base, 'POST', '/auth/refresh', { body: { refreshToken: next.refreshToken } }))
        .status,
    ).toBe(401);
    expect(
      (await api(base, 'GET', '/auth/me', { auth: { bearer: next.accessToken } })).status,
    ).toBe(401);
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: s.accessToken } })).status).toBe(
      401,
    );
    // Other sessions of the user are not affected.
    const other = remember(await login(base, 'alice', 'alice-password'));
    expect(
      (await api(base, 'GET', '/auth/me', { auth: { bearer: other.accessToken } })).status,
    ).toBe(200);
  });

  it('logs out by access token or by refresh token', async () => {
    const a = remember(await login(base, 'alice', 'alice-password'));
    expect(
      (await api(base, 'POST', '/auth/logout', { auth: { bearer: a.accessToken }, body: {} }))
        .status,
    ).toBe(204);
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: a.accessToken } })).status).toBe(
      401,
    );
    expect(
      (await api(base, 'POST', '/auth/refresh', { body: { refreshToken: a.refreshToken } })).status,
    ).toBe(401);
    const b = remember(await login(base, 'alice', 'alice-password'));
    expect(
      (await api(base, 'POST', '/auth/logout', { body: { refreshToken: b.refreshToken } })).status,
    ).toBe(204);
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: b.accessToken } })).status).toBe(
      401,
    );
    expect((await api(base, 'POST', '/auth/logout', { body: {} })).status).toBe(401);
  });

  it('changing the password ends the other sessions and keeps the current one', async () => {
    const u = remember(await registerAndLogin(base, 'pwchanger', 'first-password'));
    const other = remember(await login(base, 'pwchanger', 'first-password'));
    const wrong = await api(base, 'PUT', '/users/me/password', {
      auth: { bearer: u.accessToken },
      body: { currentPassword: 'not-it', newPassword: 'second-password' },
    });
    expect(wrong.status).toBe(403);
    await ok(base, 'PUT', '/users/me/password', {
      auth: { bearer: u.accessToken },
      body: { currentPassword: 'first-password', newPassword: 'second-password' },
      expect: 204,
    });
    secrets.push('second-password');
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: u.accessToken } })).status).toBe(
      200,
    );
    expect(
      (await api(base, 'GET', '/auth/me', { auth: { bearer: other.accessToken } })).status,
    ).toBe(401);
    expect(
      (await api(base, 'POST', '/auth/refresh', { body: { refreshToken: other.refreshToken } }))
        .status,
    ).toBe(401);
    expect(
      (
        await api(base, 'POST', '/auth/login', {
          body: { username: 'pwchanger', password: 'first-password' },
        })
      ).status,
    ).toBe(401);
    remember(await login(base, 'pwchanger', 'second-password'));
  });
});

describe('users', () => {
  let alice: TestUser;
  let root: TestUser;

  beforeAll(async () => {
    alice = remember(await login(base, 'alice', 'alice-password'));
    root = remember(await login(base, ADMIN.username, ADMIN.password));
  });

  it('bootstraps the system administrator from the environment', async () => {
    const me = await ok(base, 'GET', '/auth/me', { auth: { bearer: root.accessToken } });
    expect(me).toMatchObject({ username: ADMIN.username, isAdmin: true });
  });

  it('shows profiles, with private fields only to the user and administrators', async () => {
    const anon = await ok(base, 'GET', '/users/alice');
    expect(anon).toEqual({ username: 'alice', displayName: null, createdAt: expect.any(String) });
    const self = await ok(base, 'GET', '/users/me', { auth: { bearer: alice.accessToken } });
    expect(self.email).toBe('alice@example.com');
    const byAdmin = await ok(base, 'GET', '/users/ALICE', { auth: { bearer: root.accessToken } });
    expect(byAdmin.email).toBe('alice@example.com');
    expect((await api(base, 'GET', '/users/nobody')).status).toBe(404);
  });

  it("updates the caller's profile", async () => {
    const u = await ok(base, 'PATCH', '/users/me', {
      auth: { bearer: alice.accessToken },
      body: { displayName: 'Alice A.' },
    });
    expect(u.displayName).toBe('Alice A.');
    expect(
      (
        await api(base, 'PATCH', '/users/me', {
          auth: { bearer: alice.accessToken },
          body: { isAdmin: true },
        })
      ).status,
    ).toBe(400);
  });

  it('searches users (signed-in callers only), paginated', async () => {
    await registerAndLogin(base, 'alicia');
    const r = await ok(base, 'GET', '/users?q=ALI&perPage=1', {
      auth: { bearer: alice.accessToken },
    });
    expect(r).toMatchObject({ total: 2, page: 1, perPage: 1 });
    expect(r.items).toHaveLength(1);
    const page2 = await ok(base, 'GET', '/users?q=ali&perPage=1&page=2', {
      auth: { bearer: alice.accessToken },
    });
    expect(page2.items[0].username).not.toBe(r.items[0].username);
    expect((await api(base, 'GET', '/users?q=ali')).status).toBe(401);
    expect(
      (await api(base, 'GET', '/users?perPage=1000', { auth: { bearer: alice.accessToken } }))
        .status,
    ).toBe(400);
  });

  it('lets only administrators create users', async () => {
    const body = { username: 'created', password: 'created-password', isAdmin: false };
    expect(
      (await api(base, 'POST', '/users', { auth: { bearer: alice.accessToken }, body })).status,
    ).toBe(403);
    const created = await ok(base, 'POST', '/users', { auth: { bearer: root.accessToken }, body });
    expect(created.username).toBe('created');
    expect(
      (await api(base, 'POST', '/users', { auth: { bearer: root.accessToken }, body })).status,
    ).toBe(409);
  });

  it('deactivates a user at once, everywhere, and reactivates them', async () => {
    const u = remember(await registerAndLogin(base, 'deact', 'deact-password'));
    const key = await ok(base, 'POST', '/api-keys', {
      auth: { bearer: u.accessToken },
      body: { name: 'k' },
    });
    secrets.push(key.key);
    expect(
      (
        await api(base, 'PATCH', '/users/deact', {
          auth: { bearer: alice.accessToken },
          body: { active: false },
        })
      ).status,
    ).toBe(403);
    await ok(base, 'PATCH', '/users/deact', {
      auth: { bearer: root.accessToken },
      body: { active: false },
    });
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: u.accessToken } })).status).toBe(
      401,
    );
    expect((await api(base, 'GET', '/auth/me', { auth: { apiKey: key.key } })).status).toBe(401);
    expect(
      (
        await api(base, 'POST', '/auth/login', {
          body: { username: 'deact', password: 'deact-password' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await fetch(`${base}/v2/`, {
          headers: { authorization: basicHeader('deact', 'deact-password') },
        })
      ).status,
    ).toBe(401);
    expect((await api(base, 'GET', '/users/deact')).status).toBe(404);
    await ok(base, 'PATCH', '/users/deact', {
      auth: { bearer: root.accessToken },
      body: { active: true },
    });
    remember(await login(base, 'deact', 'deact-password'));
    expect(
      (
        await api(base, 'PATCH', `/users/${ADMIN.username}`, {
          auth: { bearer: root.accessToken },
          body: { active: false },
        })
      ).status,
    ).toBe(409);
  });

  it('deletes users, but not while they own repositories', async () => {
    const u = remember(await registerAndLogin(base, 'leaver', 'leaver-password'));
    await ok(base, 'POST', '/repos', {
      auth: { bearer: u.accessToken },
      body: { namespace: 'leaver', name: 'app' },
    });
    expect(
      (await api(base, 'DELETE', '/users/leaver', { auth: { bearer: alice.accessToken } })).status,
    ).toBe(403);
    expect(
      (await api(base, 'DELETE', '/users/leaver', { auth: { bearer: root.accessToken } })).status,
    ).toBe(409);
    await ok(base, 'DELETE', '/repos/leaver/app', { auth: { bearer: root.accessToken } });
    await ok(base, 'DELETE', '/users/leaver', { auth: { bearer: root.accessToken } });
    expect((await api(base, 'GET', '/auth/me', { auth: { bearer: u.accessToken } })).status).toBe(
      401,
    );
    // The name is free again.
    remember(await registerAndLogin(base, 'leaver', 'leaver-password-2'));
  });
});

describe('API keys', () => {
  let alice: TestUser;

  beforeAll(async () => {
    alice = remember(await login(base, 'alice', 'alice-password'));
  });

  it('shows the key once, lists keys without secrets, and accepts it in every form', async () => {
    const created = await ok(base, 'POST', '/api-keys', {
      auth: { bearer: alice.accessToken },
      body: { name: 'laptop' },
    });
    secrets.push(created.key);
    expect(created.key).toMatch(/^ak_[A-Za-z0-9]{32}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const forms = [
      { apiKey: created.key },
      { bearer: created.key },
      { basic: ['alice', created.key] as [string, string] },
    ];
    for (const auth of forms)
      expect((await ok(base, 'GET', '/auth/me', { auth })).username).toBe('alice');
    const list = await ok(base, 'GET', '/api-keys', { auth: { bearer: alice.accessToken } });
    const listed = list.find((k: { id: string }) => k.id === created.id);
    expect(listed).toMatchObject({ name: 'laptop', prefix: created.prefix });
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(created.key);
    // An API key is not a password for /auth/login.
    expect(
      (
        await api(base, 'POST', '/auth/login', {
          body: { username: 'alice', password: created.key },
        })
      ).status,
    ).toBe(401);
  });

  it('revokes a key at once; only its owner can', async () => {
    const created = await ok(base, 'POST', '/api-keys', {
      auth: { bearer: alice.accessToken },
      body: { name: 'doomed' },
    });
    secrets.push(created.key);
    const eve = remember(await registerAndLogin(base, 'eve'));
    expect(
      (await api(base, 'DELETE', `/api-keys/${created.id}`, { auth: { bearer: eve.accessToken } }))
        .status,
    ).toBe(404);
    expect((await api(base, 'GET', '/auth/me', { auth: { apiKey: created.key } })).status).toBe(
      200,
    );
    await ok(base, 'DELETE', `/api-keys/${created.id}`, { auth: { bearer: alice.accessToken } });
    expect((await api(base, 'GET', '/auth/me', { auth: { apiKey: created.key } })).status).toBe(
      401,
    );
    expect(
      (
        await api(base, 'DELETE', `/api-keys/${created.id}`, {
          auth: { bearer: alice.accessToken },
        })
      ).status,
    ).toBe(404);
    expect(
      (await api(base, 'DELETE', '/api-keys/not-a-uuid', { auth: { bearer: alice.accessToken } }))
        .status,
    ).toBe(400);
    const list = await ok(base, 'GET', '/api-keys', { auth: { bearer: alice.accessToken } });
    expect(list.map((k: { id: string }) => k.id)).not.toContain(created.id);
  });

  it('stops working after its expiry', async () => {
    expect(
      (
        await api(base, 'POST', '/api-keys', {
          auth: { bearer: alice.accessToken },
          body: { name: 'past', expiresAt: '2000-01-01T00:00:00Z' },
        })
      ).status,
    ).toBe(400);
    const expiresAt = new Date(Date.now() + 5000).toISOString();
    const created = await ok(base, 'POST', '/api-keys', {
      auth: { bearer: alice.accessToken },
      body: { name: 'brief', expiresAt },
    });
    secrets.push(created.key);
    // Before its expiry the key works everywhere: the API, /v2/ and the token endpoint.
    const uses = async () => [
      (await api(base, 'GET', '/auth/me', { auth: { apiKey: created.key } })).status,
      (await fetch(`${base}/v2/`, { headers: { 'x-api-key': created.key } })).status,
      (await registryToken(base, ['repository:alice/x:pull'], { basic: ['alice', created.key] }))
        .status,
    ];
    expect(await uses()).toEqual([200, 200, 200]);
    await waitFor('the expiry to pass', () => Date.now() > Date.parse(expiresAt) + 50, 15_000);
    expect(await uses()).toEqual([401, 401, 401]);
  });
});

describe('the Docker token endpoint', () => {
  const form = (fields: Record<string, string>) =>
    fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  it('does the OAuth2 password and refresh_token grants (docker login)', async () => {
    const res = await form({
      grant_type: 'password',
      username: 'alice',
      password: 'alice-password',
      service: 'aerugo',
      client_id: 'docker',
      access_type: 'offline',
      scope: '',
    });
    expect(res.status).toBe(200);
    const body: Json = await res.json();
    secrets.push(body.access_token, body.refresh_token);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: '' });
    expect(body.refresh_token).toMatch(/^rt_/);
    const again = await form({
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token,
      service: 'aerugo',
      client_id: 'docker',
      scope: 'repository:alice/app:pull,push',
    });
    expect(again.status).toBe(200);
    const b2: Json = await again.json();
    expect(decodeJwt(b2.access_token).access).toEqual([
      { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] },
    ]);
    // Identity tokens do not rotate: docker keeps presenting the one from login.
    expect(
      (
        await form({
          grant_type: 'refresh_token',
          refresh_token: body.refresh_token,
          service: 'aerugo',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await form({
          grant_type: 'password',
          username: 'alice',
          password: 'wrong',
          service: 'aerugo',
        })
      ).status,
    ).toBe(401);
    expect(
      (await form({ grant_type: 'refresh_token', refresh_token: 'rt_nonsense', service: 'aerugo' }))
        .status,
    ).toBe(401);
    expect((await form({ grant_type: 'client_credentials', service: 'aerugo' })).status).toBe(400);
    // Management refresh tokens are not registry identity tokens.
    const session = remember(await login(base, 'alice', 'alice-password'));
    expect(
      (
        await form({
          grant_type: 'refresh_token',
          refresh_token: session.refreshToken,
          service: 'aerugo',
        })
      ).status,
    ).toBe(401);
  });

  it('a password change revokes registry tokens and identity tokens issued with the old password', async () => {
    const u = remember(await registerAndLogin(base, 'tokenholder', 'first-password'));
    const v2 = (headers: Record<string, string>) =>
      fetch(`${base}/v2/`, { headers }).then((r) => r.status);
    const viaGet = await fetch(
      `${base}/auth/token?service=aerugo&scope=repository:tokenholder/app:pull&offline_token=true`,
      { headers: { authorization: basicHeader('tokenholder', 'first-password') } },
    ).then((r) => r.json() as Promise<Json>);
    const viaForm: Json = await form({
      grant_type: 'password',
      username: 'tokenholder',
      password: 'first-password',
      service: 'aerugo',
      access_type: 'offline',
    }).then((r) => r.json());
    secrets.push(viaGet.token, viaGet.refresh_token, viaForm.access_token, viaForm.refresh_token);
    expect(decodeJwt(viaGet.token).cg).toBe(0);
    for (const token of [viaGet.token, viaForm.access_token])
      expect(await v2({ authorization: `Bearer ${token}` })).toBe(200);
    expect(await v2({ authorization: basicHeader('tokenholder', 'first-password') })).toBe(200);

    await ok(base, 'PUT', '/users/me/password', {
      auth: { bearer: u.accessToken },
      body: { currentPassword: 'first-password', newPassword: 'second-password' },
      expect: 204,
    });
    secrets.push('second-password');
    // Tokens issued with the old password (they carry no session) are refused at once ...
    for (const token of [viaGet.token, viaForm.access_token])
      expect(await v2({ authorization: `Bearer ${token}` })).toBe(401);
    // ... so are the identity tokens of `docker login` (their sessions ended) and the password.
    for (const refresh of [viaGet.refresh_token, viaForm.refresh_token]) {
      const again = await form({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        service: 'aerugo',
      });
      expect(again.status).toBe(401);
    }
    expect(await v2({ authorization: basicHeader('tokenholder', 'first-password') })).toBe(401);
    const fresh = await registryToken(base, ['repository:tokenholder/app:pull'], {
      basic: ['tokenholder', 'second-password'],
    });
    secrets.push(fresh.token!);
    expect(decodeJwt(fresh.token!).cg).toBe(1);
    expect(await v2({ authorization: `Bearer ${fresh.token}` })).toBe(200);
  });

  it('returns an identity token for GET with offline_token=true and password credentials', async () => {
    const res = await fetch(
      `${base}/auth/token?service=aerugo&offline_token=true&client_id=docker&account=alice`,
      {
        headers: { authorization: basicHeader('alice', 'alice-password') },
      },
    );
    expect(res.status).toBe(200);
    const body: Json = await res.json();
    secrets.push(body.token, body.refresh_token);
    expect(body.refresh_token).toMatch(/^rt_/);
    expect(body.access_token).toBe(body.token);
    expect(new Date(body.issued_at).getTime()).toBeGreaterThan(0);
    expect(
      (
        await fetch(`${base}/api/v1/auth/token?service=aerugo`, {
          headers: { authorization: basicHeader('alice', 'nope') },
        })
      ).status,
    ).toBe(401);
  });
});

describe('shared signing key', () => {
  it('generates one key when JWT_SECRET is unset and every node uses it', async () => {
    const databaseUrl = await createTestDatabase();
    const env = { ADMIN_USERNAME: 'keyadmin', ADMIN_PASSWORD: 'keyadmin-password' };
    const [a, b] = await Promise.all([
      startServer({ databaseUrl, env }),
      startServer({ databaseUrl, env }),
    ]);
    try {
      const t = await login(a.url, 'keyadmin', 'keyadmin-password');
      expect(
        (await api(b.url, 'GET', '/auth/me', { auth: { bearer: t.accessToken } })).status,
      ).toBe(200);
      // Not signed with a well-known or configured secret.
      const forged = freshCopy(t.accessToken);
      expect((await api(b.url, 'GET', '/auth/me', { auth: { bearer: forged } })).status).toBe(401);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('logs', () => {
  it('never contain the passwords, tokens and keys this test makes and uses', async () => {
    const own: string[] = [];
    const password = 'log-watcher-password-1';
    const u = await registerAndLogin(base, 'logwatcher', password);
    own.push(password, u.accessToken, u.refreshToken);
    const key = await ok(base, 'POST', '/api-keys', {
      auth: { bearer: u.accessToken },
      body: { name: 'logs' },
    });
    own.push(key.key);
    const t = await registryToken(base, ['repository:logwatcher/app:pull,push'], {
      basic: ['logwatcher', password],
    });
    own.push(t.token!);
    const refreshed = await ok(base, 'POST', '/auth/refresh', {
      body: { refreshToken: u.refreshToken },
      expect: 200,
    });
    own.push(refreshed.accessToken, refreshed.refreshToken);
    const wrong = `${password}-wrong`;
    own.push(wrong);
    // Used rightly and wrongly, so that failures (which log more) are covered too.
    const statuses = [
      (
        await fetch(`${base}/v2/`, {
          headers: { authorization: basicHeader('logwatcher', password) },
        })
      ).status,
      (await fetch(`${base}/v2/`, { headers: { authorization: basicHeader('logwatcher', wrong) } }))
        .status,
      (await fetch(`${base}/v2/`, { headers: { 'x-api-key': key.key } })).status,
      (await fetch(`${base}/v2/`, { headers: { 'x-api-key': `${key.key}x` } })).status,
      (
        await fetch(`${base}/v2/logwatcher/app/tags/list`, {
          headers: { authorization: `Bearer ${t.token}` },
        })
      ).status,
      (
        await api(base, 'POST', '/auth/login', {
          body: { username: 'logwatcher', password: wrong },
        })
      ).status,
      (await api(base, 'GET', '/auth/me', { auth: { bearer: refreshed.accessToken } })).status,
    ];
    expect(statuses).toEqual([200, 401, 200, 401, 404, 401, 200]);
    const logs = server.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const s of own) expect(logs).not.toContain(s);
  });

  it('never contain passwords, tokens or keys', async () => {
    const logs = server.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const s of secrets.filter((x) => x && x.length >= 8)) expect(logs).not.toContain(s);
  });
});
