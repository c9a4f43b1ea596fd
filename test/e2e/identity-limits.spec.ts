import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registryErrorCode } from './identity-support.js';
import { waitFor } from '../support/registry.js';
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
      // The limits alone here; the delays are tested below.
      AUTH_FAILURE_DELAY_SECONDS: '0',
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

  it('blocks an account from the failing address after too many failures, even with the right password, on every sign-in path', async () => {
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
    expect(await registryErrorCode(v2)).toBe('TOOMANYREQUESTS');
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
        AUTH_RATE_LIMIT_PER_ACCOUNT: '5',
        AUTH_RATE_LIMIT_PER_ADDRESS: '50',
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
        AUTH_FAILURE_DELAY_SECONDS: '1',
        REGISTRATION_RATE_LIMIT_PER_ADDRESS: '3',
        REGISTRATION_RATE_LIMIT_WINDOW_SECONDS: '3600',
        TRUST_PROXY: 'loopback',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it('an attacker is slowed, then refused, from their address; the owner, API keys and robots are not', async () => {
    const owner = { basic: [ADMIN.username, ADMIN.password] as [string, string] };
    await ok(node.url, 'POST', '/users', {
      auth: owner,
      body: { username: 'target', password: 'target-password' },
    });
    const key = (
      await ok(node.url, 'POST', '/api-keys', {
        auth: { basic: ['target', 'target-password'] },
        body: { name: 'ci' },
      })
    ).key as string;
    const robot = (
      await ok(node.url, 'POST', '/namespaces/target/robots', {
        auth: { basic: ['target', 'target-password'] },
        body: { name: 'ci', grants: [{ repository: '*', level: 'read' }] },
      })
    ).key as string;
    const attacker = '203.0.113.80';
    const login = (password: string, address: string) =>
      api(node.url, 'POST', '/auth/login', {
        body: { username: 'target', password },
        headers: from(address),
      });
    /** Waits out the pair's delay with a wrong password (a 429 is no attempt): one more failure. */
    const failAfterDelay = async () => {
      let status = 0;
      await waitFor('the delay to pass', async () => {
        status = (await login('wrong-password', attacker)).status;
        return status !== 429;
      });
      expect(status).toBe(401);
    };
    // Two failures cost nothing; the third holds the pair for 1 s, the fourth for 2 s.
    for (let i = 0; i < 3; i++) expect((await login('wrong-password', attacker)).status).toBe(401);
    const first = await login('target-password', attacker);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    await failAfterDelay();
    const second = await login('target-password', attacker);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2');
    // The fifth failure reaches AUTH_RATE_LIMIT_PER_ACCOUNT: refused for the window.
    await failAfterDelay();
    const refused = await login('target-password', attacker);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3000);
    const token = await fetch(`${node.url}/auth/token?service=aerugo`, {
      headers: { authorization: basicHeader('target', 'target-password'), ...from(attacker) },
    });
    expect(token.status).toBe(429);

    // The owner, from anywhere else, on every path.
    expect((await login('target-password', '198.51.100.30')).status).toBe(200);
    const elsewhere = await fetch(`${node.url}/auth/token?service=aerugo`, {
      headers: {
        authorization: basicHeader('target', 'target-password'),
        ...from('198.51.100.30'),
      },
    });
    expect(elsewhere.status).toBe(200);
    // API keys and robots, even from the attacker's address.
    for (const headers of [
      { authorization: basicHeader('target', key), ...from(attacker) },
      { 'x-api-key': key, ...from(attacker) },
      { authorization: basicHeader('target+ci', robot), ...from(attacker) },
    ]) {
      const v2 = await fetch(`${node.url}/v2/`, { headers });
      expect(v2.status).toBe(200);
      const t = await fetch(`${node.url}/auth/token?service=aerugo`, { headers });
      expect(t.status).toBe(200);
    }
  });

  it('a leaked API key cannot be used to guess the password: wrong current passwords count per key, from any address', async () => {
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
    // Five guesses from five addresses: each pair has one failure, the key five (the limit).
    for (let i = 0; i < 5; i++)
      expect((await change(`guess-${i}`, `203.0.113.${50 + i}`)).status).toBe(403);
    // Past the limit even the right password is refused to that key, from any address ...
    for (const address of ['203.0.113.50', '203.0.113.59']) {
      const refused = await change('keyholder-password', address);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // ... while the account's owner still signs in (the account is never locked).
    const login = await api(node.url, 'POST', '/auth/login', {
      body: { username: 'keyholder', password: 'keyholder-password' },
      headers: from('198.51.100.1'),
    });
    expect(login.status).toBe(200);
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
