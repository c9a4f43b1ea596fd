import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { adminClient, errorCode, type RegistryClient, TEST_ADMIN } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { api, basicHeader, type Json, ok, registerAndLogin } from './identity-support.js';

/**
 * Bad input never gets a 5xx, and every error is well formed: NUL characters and invalid UTF-8
 * wherever a request carries text, out-of-range paging, malformed percent-escapes, a manifest
 * with a text Content-Type; management errors carry a `code`; database errors reach no client as
 * a 500 and no log with their parameters.
 */
let server: TestServer;
let base: string;
let registry: RegistryClient;
let alice: { accessToken: string };
const PASSWORD = 'alice-password-1';

beforeAll(async () => {
  server = await startServer({
    env: {
      LOG_LEVEL: 'debug',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '2',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
    },
  });
  base = server.url;
  registry = await adminClient(base);
  alice = await registerAndLogin(base, 'alice', PASSWORD);
  await registry.pushImage('alice/app', 'v1', ['layer']);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

const asAlice = () => ({ bearer: alice.accessToken });

/** A management API error: 4xx, with statusCode, message, error and a code. */
function expectApiError(r: { status: number; body: Json }, status: number, code: string): void {
  expect({ status: r.status, body: r.body }).toEqual({
    status,
    body: expect.objectContaining({ statusCode: status, code, error: expect.any(String) }),
  });
  expect(r.body.message).toBeDefined();
}

async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('NUL characters and invalid UTF-8 get a 400, never a 500', () => {
  it.each([
    '/users?q=a%00b',
    '/users?q=%ff',
    '/repos?namespace=%00',
    '/repos?q=x%00',
    '/repos?page=1%00',
    '/users/a%00b',
    '/users/%ff',
    '/orgs/%C0%80',
    '/repos/alice/app%00',
  ])('GET /api/v1%s', async (path) => {
    expectApiError(await api(base, 'GET', path, { auth: asAlice() }), 400, 'VALIDATION_FAILED');
  });

  it.each([
    [
      'POST',
      '/auth/register',
      { username: 'nul', password: 'nul-password-1', displayName: 'a\u0000b' },
    ],
    [
      'POST',
      '/auth/register',
      { username: 'nul', password: 'nul-password-1', email: 'a\u0000@b.c' },
    ],
    ['POST', '/auth/login', { username: 'alice\u0000', password: PASSWORD }],
    ['PATCH', '/users/me', { displayName: '\u0000' }],
    ['PATCH', '/users/me', { displayName: 'lone \ud800 surrogate' }],
    ['POST', '/api-keys', { name: 'key\u0000name' }],
    ['POST', '/orgs', { name: 'acme', displayName: 'Acme\u0000' }],
    ['POST', '/repos', { namespace: 'alice', name: 'new', description: '\u0000' }],
    ['PATCH', '/repos/alice/app', { description: 'x\u0000' }],
    ['POST', '/auth/refresh', { refreshToken: '\u0000' }],
  ])('%s /api/v1%s with %j', async (method, path, body) => {
    const r = await api(base, method, path, { auth: asAlice(), body });
    expectApiError(r, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(r.body.message)).toMatch(/NUL|UTF-8/);
  });

  it('a JSON body that is not valid UTF-8', async () => {
    const r = await raw('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([
        Buffer.from('{"username":"alice'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('","password":"x"}'),
      ]),
    });
    expectApiError(r, 400, 'VALIDATION_FAILED');
  });

  it('Basic credentials holding NUL are no credentials (401), on both APIs', async () => {
    const authorization = basicHeader('ali\u0000ce', PASSWORD);
    expectApiError(
      await api(base, 'GET', '/auth/me', { headers: { authorization } }),
      401,
      'UNAUTHORIZED',
    );
    const res = await fetch(`${base}/v2/alice/app/tags/list`, { headers: { authorization } });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe('UNAUTHORIZED');
  });

  it('GET /v2/<name>/tags/list?last=%00%ff and other registry parameters: 400 in the OCI format', async () => {
    for (const path of [
      '/v2/alice/app/tags/list?last=%00%ff',
      '/v2/alice/app/tags/list?n=2&last=a%00',
      '/v2/_catalog?last=%ff',
      `/v2/alice/app/referrers/sha256:${'a'.repeat(64)}?artifactType=%00`,
      '/v2/alice/app/manifests/v1?%ff',
    ]) {
      const res = await registry.fetch(path);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
      expect(await errorCode(res)).toBe('UNSUPPORTED');
    }
  });

  it('a malformed percent-escape in a /v2/ path answers NAME_INVALID in the OCI format', async () => {
    for (const path of [
      '/v2/alice/%ZZ/tags/list',
      '/v2/%ZZ',
      '/v2/alice/app/manifests/%E0%A4%A',
      '/v2/alice/app/blobs/%',
    ]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await registry.fetch(path, { method });
        expect({ path, method, status: res.status }).toEqual({ path, method, status: 400 });
        expect(await errorCode(res)).toBe('NAME_INVALID');
      }
    }
    const head = await registry.fetch('/v2/alice/%ZZ/tags/list', { method: 'HEAD' });
    expect(head.status).toBe(400);
  });
});

describe('paging', () => {
  it.each([
    'page=99999999999999999999',
    'page=1000001',
    'page=0',
    'page=-1',
    'page=1.5',
    'page=abc',
    'perPage=101',
    'perPage=99999999999999999999',
    'page=1e400',
  ])('GET /api/v1/users?%s → 400', async (query) => {
    expectApiError(
      await api(base, 'GET', `/users?${query}`, { auth: asAlice() }),
      400,
      'VALIDATION_FAILED',
    );
    expectApiError(
      await api(base, 'GET', `/repos?${query}`, { auth: asAlice() }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('the last page allowed still answers', async () => {
    const r = await ok(base, 'GET', '/users?page=1000000&perPage=100', { auth: asAlice() });
    expect(r.items).toEqual([]);
  });
});

describe('manifest Content-Type', () => {
  it('text/plain is refused with MANIFEST_INVALID, nothing is stored', async () => {
    const { body } = await registry.pushImage('alice/typed', 'ok', ['x']);
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/json']) {
      const res = await registry.putManifest('alice/typed', 'plain', body, type);
      expect({ type, status: res.status, code: await errorCode(res) }).toEqual({
        type,
        status: 400,
        code: 'MANIFEST_INVALID',
      });
    }
    expect((await registry.fetch('/v2/alice/typed/manifests/plain')).status).toBe(404);
  });
});

describe('management API errors carry a code', () => {
  it('generic codes by status, specific ones where the service tells cases apart', async () => {
    expectApiError(await api(base, 'GET', '/nope'), 404, 'NOT_FOUND');
    expectApiError(await api(base, 'GET', '/auth/me'), 401, 'UNAUTHORIZED');
    expectApiError(await api(base, 'GET', '/users/nobody-here'), 404, 'NOT_FOUND');
    expectApiError(
      await api(base, 'POST', '/auth/register', { body: { username: 'x' } }),
      400,
      'VALIDATION_FAILED',
    );
    expectApiError(
      await api(base, 'POST', '/auth/register', {
        body: { username: 'alice', password: 'another-pw-1' },
      }),
      409,
      'NAME_TAKEN',
    );
    expectApiError(
      await api(base, 'POST', '/auth/register', {
        body: { username: 'v2', password: 'another-pw-1' },
      }),
      409,
      'NAME_RESERVED',
    );
    expectApiError(
      await api(base, 'POST', '/repos', {
        auth: asAlice(),
        body: { namespace: 'alice', name: 'app' },
      }),
      409,
      'REPOSITORY_EXISTS',
    );
    await ok(base, 'POST', '/orgs', { auth: asAlice(), body: { name: 'alice-org' } });
    expectApiError(
      await api(base, 'DELETE', '/orgs/alice-org/members/alice', { auth: asAlice() }),
      409,
      'LAST_OWNER',
    );
    expectApiError(
      await api(base, 'POST', '/orgs/alice-org/members', {
        auth: asAlice(),
        body: { username: 'alice', role: 'member' },
      }),
      409,
      'ALREADY_MEMBER',
    );
    await ok(base, 'POST', '/orgs/alice-org/teams', { auth: asAlice(), body: { name: 'devs' } });
    expectApiError(
      await api(base, 'POST', '/orgs/alice-org/teams', { auth: asAlice(), body: { name: 'devs' } }),
      409,
      'TEAM_EXISTS',
    );
    const big = await raw('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'x', password: 'y'.repeat(2 * 1024 * 1024) }),
    });
    expectApiError(big, 413, 'PAYLOAD_TOO_LARGE');
    expectApiError(
      await raw('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"username":',
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a user or organization that still owns repositories cannot be deleted: 409, on PostgreSQL 15 and 18', async () => {
    const root = { basic: [TEST_ADMIN.username, TEST_ADMIN.password] as [string, string] };
    const bob = await registerAndLogin(base, 'bob');
    await ok(base, 'POST', '/repos', {
      auth: { bearer: bob.accessToken },
      body: { namespace: 'bob', name: 'kept' },
    });
    expectApiError(
      await api(base, 'DELETE', '/users/bob', { auth: root }),
      409,
      'NAMESPACE_NOT_EMPTY',
    );
    // alice owns alice-org alone: that is refused first, with its own code.
    expectApiError(await api(base, 'DELETE', '/users/alice', { auth: root }), 409, 'LAST_OWNER');
    await ok(base, 'POST', '/repos', {
      auth: asAlice(),
      body: { namespace: 'alice-org', name: 'kept' },
    });
    expectApiError(
      await api(base, 'DELETE', '/orgs/alice-org', { auth: asAlice() }),
      409,
      'NAMESPACE_NOT_EMPTY',
    );
  });

  it('the 429 of /auth/login carries Retry-After', async () => {
    await ok(base, 'POST', '/auth/register', {
      body: { username: 'limited', password: 'limited-pw-1' },
    });
    for (let i = 0; i < 2; i++) {
      const r = await api(base, 'POST', '/auth/login', {
        body: { username: 'limited', password: 'wrong-pw-1' },
      });
      expectApiError(r, 401, 'UNAUTHORIZED');
    }
    const r = await api(base, 'POST', '/auth/login', {
      body: { username: 'limited', password: 'limited-pw-1' },
    });
    expectApiError(r, 429, 'TOO_MANY_REQUESTS');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('failed queries are never logged with their parameters', () => {
  it('an INSERT that fails in the database answers 4xx, and the log holds neither the hash nor the password', async () => {
    // A constraint the DTOs know nothing about makes the user INSERT (argon2 hash among its
    // parameters) fail inside PostgreSQL, as a NUL in displayName did before input was checked.
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `ALTER TABLE users ADD CONSTRAINT test_no_trip CHECK (display_name <> 'trip-the-check')`,
      );
    } finally {
      await db.end();
    }
    const secret = 'Secret-Password-4-Logs';
    const r = await api(base, 'POST', '/auth/register', {
      body: {
        username: 'logged',
        password: secret,
        email: 'logged@example.com',
        displayName: 'trip-the-check',
      },
    });
    expectApiError(r, 400, 'VALIDATION_FAILED');
    const logs = server.logs();
    expect(logs).toContain('23514'); // the failure is logged (debug), by its SQLSTATE
    expect(logs).not.toContain('$argon2');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain('logged@example.com');
  });
});
