import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registryErrorCode } from './identity-support.js';
import { startServer, type TestServer } from '../support/server.js';
import { ADMIN, api, basicHeader, ok } from './identity-support.js';

let server: TestServer;
let base: string;

beforeAll(async () => {
  server = await startServer({
    env: {
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      REGISTRATION_ENABLED: 'false',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '3',
      AUTH_RATE_LIMIT_PER_ADDRESS: '6',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
    },
  });
  base = server.url;
  const root = { basic: [ADMIN.username, ADMIN.password] as [string, string] };
  for (const username of ['victim', 'other']) {
    await ok(base, 'POST', '/users', {
      auth: root,
      body: { username, password: `${username}-password` },
    });
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('self-registration switched off', () => {
  it('refuses POST /auth/register', async () => {
    const r = await api(base, 'POST', '/auth/register', {
      body: { username: 'newcomer', password: 'newcomer-password' },
    });
    expect(r.status).toBe(403);
  });
});

describe('sign-in rate limits', () => {
  const loginAs = (username: string, password: string) =>
    api(base, 'POST', '/auth/login', { body: { username, password } });

  it('blocks an account after too many failures, even with the right password, on every sign-in path', async () => {
    for (let i = 0; i < 3; i++)
      expect((await loginAs('victim', 'wrong-password')).status).toBe(401);
    const blocked = await loginAs('victim', 'victim-password');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    const token = await fetch(`${base}/auth/token?service=aerugo`, {
      headers: { authorization: basicHeader('victim', 'victim-password') },
    });
    expect(token.status).toBe(429);
    expect(Number(token.headers.get('retry-after'))).toBeGreaterThan(0);
    const v2 = await fetch(`${base}/v2/`, {
      headers: { authorization: basicHeader('victim', 'victim-password') },
    });
    expect(v2.status).toBe(429);
    // Another account from the same address still signs in (3 of 6 address failures used).
    expect((await loginAs('other', 'other-password')).status).toBe(200);
  });

  it('blocks an address after too many failures across accounts', async () => {
    for (const name of ['x1', 'x2', 'x3'])
      expect((await loginAs(name, 'whatever-password')).status).toBe(401);
    expect((await loginAs('other', 'other-password')).status).toBe(429);
  });
});

describe('with a client address per test (TRUST_PROXY=loopback)', () => {
  let node: TestServer;
  const from = (address: string) => ({ 'x-forwarded-for': address });

  beforeAll(async () => {
    node = await startServer({
      env: {
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
        AUTH_RATE_LIMIT_PER_ACCOUNT: '3',
        AUTH_RATE_LIMIT_PER_ADDRESS: '50',
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
        REGISTRATION_RATE_LIMIT_PER_ADDRESS: '3',
        REGISTRATION_RATE_LIMIT_WINDOW_SECONDS: '3600',
        TRUST_PROXY: 'loopback',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('a leaked API key cannot be used to guess the password: wrong current passwords count like failed sign-ins', async () => {
    const owner = { basic: [ADMIN.username, ADMIN.password] as [string, string] };
    await ok(node.url, 'POST', '/users', {
      auth: owner,
      body: { username: 'keyholder', password: 'keyholder-password' },
    });
    const key = (
      await ok(node.url, 'POST', '/api-keys', {
        auth: { basic: ['keyholder', 'keyholder-password'] },
        body: { name: 'leaked' },
      })
    ).key as string;
    const change = (currentPassword: string, address: string) =>
      api(node.url, 'PUT', '/users/me/password', {
        auth: { apiKey: key },
        body: { currentPassword, newPassword: 'attacker-password' },
        headers: from(address),
      });
    for (let i = 0; i < 3; i++)
      expect((await change(`guess-${i}`, '203.0.113.50')).status).toBe(403);
    // Past the per-account limit even the right password is refused, from any address ...
    for (const address of ['203.0.113.50', '203.0.113.51']) {
      const refused = await change('keyholder-password', address);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // ... and it is the same counter as sign-ins: the account's owner sees it too.
    const login = await api(node.url, 'POST', '/auth/login', {
      body: { username: 'keyholder', password: 'keyholder-password' },
      headers: from('198.51.100.1'),
    });
    expect(login.status).toBe(429);
    expect(Number(login.headers.get('retry-after'))).toBeGreaterThan(0);
    const v2 = await fetch(`${node.url}/v2/`, {
      headers: { authorization: basicHeader('keyholder', 'keyholder-password') },
    });
    expect(v2.status).toBe(429);
    expect(await registryErrorCode(v2)).toBe('TOOMANYREQUESTS');
    // The password was never changed.
    expect((await api(node.url, 'GET', '/auth/me', { auth: { apiKey: key } })).status).toBe(200);
  });

  it('limits self-registrations per client address, also when they arrive at once (429, Retry-After)', async () => {
    const register = (username: string, address: string) =>
      api(node.url, 'POST', '/auth/register', {
        body: { username, password: `${username}-password` },
        headers: from(address),
      });
    const burst = await Promise.all(
      Array.from({ length: 10 }, (_, i) => register(`burst${i}`, '203.0.113.60')),
    );
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    for (const r of burst.filter((x) => x.status === 429)) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(3000);
      expect(r.body.message).toMatch(/too many registrations/);
    }
    // Every attempt counts, a taken name too; another address is not affected.
    expect((await register('burst0', '203.0.113.61')).status).toBe(409);
    expect((await register('elsewhere', '203.0.113.61')).status).toBe(201);
  });

  it('keeps the name of the bootstrap administrator and system names such as "admin" from registration', async () => {
    for (const [i, username] of ['admin', 'Administrator', 'root', ADMIN.username].entries()) {
      const r = await api(node.url, 'POST', '/auth/register', {
        body: { username, password: 'long-enough-password' },
        headers: from(`203.0.113.${70 + i}`),
      });
      expect({ username, status: r.status }).toEqual({ username, status: 409 });
    }
  });
});
