import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, startServer, tempDir, type TestServer } from '../support/server.js';
import { api, ok } from './identity-support.js';

/** Starting a node that must refuse: its exit message (startServer fails with the logs). */
async function refusal(env: Record<string, string | undefined>, databaseUrl: string) {
  let server: TestServer | undefined;
  try {
    server = await startServer({ databaseUrl, env });
  } catch (e) {
    // The node logs JSON lines: quotes in its messages are escaped there.
    return (e as Error).message.replaceAll('\\"', '"');
  }
  await server.stop();
  throw new Error('the node started');
}

describe('the bootstrap administrator (ADMIN_USERNAME)', () => {
  let databaseUrl: string;
  let dataDir: string;
  let first: TestServer;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    dataDir = tempDir();
    // A first start without an administrator: self-registration is open.
    first = await startServer({
      databaseUrl,
      dataDir,
      env: { ADMIN_USERNAME: undefined, ADMIN_PASSWORD: undefined },
    });
  }, 120_000);

  afterAll(async () => {
    await first?.stop();
  });

  it('system names such as "admin" cannot be taken before the administrator exists', async () => {
    for (const username of ['admin', 'ADMIN', 'root', 'administrator', 'sysadmin', 'registry']) {
      const r = await api(first.url, 'POST', '/auth/register', {
        body: { username, password: 'a-long-password' },
      });
      expect({ username, status: r.status }).toEqual({ username, status: 409 });
      expect(r.body.message).toMatch(/reserved/);
    }
    expect(first.logs()).toContain('No system administrator exists');
    // Ordinary names are free; one user founds an organization.
    const alice = await ok(first.url, 'POST', '/auth/register', {
      body: { username: 'alice', password: 'alice-password' },
    });
    expect(alice.isAdmin).toBe(false);
    const token = (
      await ok(first.url, 'POST', '/auth/login', {
        body: { username: 'alice', password: 'alice-password' },
        expect: 200,
      })
    ).accessToken;
    await ok(first.url, 'POST', '/orgs', { auth: { bearer: token }, body: { name: 'acme' } });
    await first.stop();
  });

  it('refuses to start when ADMIN_USERNAME names a user who is not an administrator', async () => {
    const message = await refusal(
      { ADMIN_USERNAME: 'alice', ADMIN_PASSWORD: 'takeover-password' },
      databaseUrl,
    );
    expect(message).toContain(
      'ADMIN_USERNAME "alice" names an existing user who is not a system administrator',
    );
    expect(message).toMatch(/server exited with [1-9]/);
  });

  it('refuses to start when ADMIN_USERNAME is the name of an organization', async () => {
    const message = await refusal(
      { ADMIN_USERNAME: 'acme', ADMIN_PASSWORD: 'takeover-password' },
      databaseUrl,
    );
    expect(message).toContain('ADMIN_USERNAME "acme" is the name of an organization');
  });

  it('creates the administrator under a reserved name, and starts again with it unchanged', async () => {
    for (let i = 0; i < 2; i++) {
      const server = await startServer({
        databaseUrl,
        dataDir,
        env: { ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'admin-password' },
      });
      try {
        const me = await ok(server.url, 'GET', '/auth/me', {
          auth: { basic: ['admin', 'admin-password'] },
        });
        expect(me).toMatchObject({ username: 'admin', isAdmin: true });
        // alice was left as she was.
        const alice = await ok(server.url, 'GET', '/users/alice', {
          auth: { basic: ['admin', 'admin-password'] },
        });
        expect(alice.isAdmin).toBe(false);
      } finally {
        await server.stop();
      }
    }
  });
});
