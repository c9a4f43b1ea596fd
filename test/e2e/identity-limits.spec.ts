import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
