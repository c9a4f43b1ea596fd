import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startServer, type TestServer } from '../support/server.js';
import { adminDatabaseUrl, testDatabasePrefix } from '../support/test-env.js';
import {
  ADMIN,
  api,
  type Auth,
  type Json,
  login,
  ok,
  registerAndLogin,
  type TestUser,
} from './identity-support.js';

let server: TestServer;
let base: string;
const u: Record<string, TestUser> = {};
const as = (name: string): Auth => ({ bearer: u[name].accessToken });

/** Names of a search answer, as `kind:name@match`. */
async function names(q: string, auth?: Auth, extra = ''): Promise<string[]> {
  const body = await ok(base, 'GET', `/search?q=${encodeURIComponent(q)}${extra}`, { auth });
  return body.items.map((i: Json) => `${i.kind}:${i.name}@${i.match}`);
}

beforeAll(async () => {
  server = await startServer({
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  base = server.url;
  u.admin = await login(base, ADMIN.username, ADMIN.password);
  for (const name of ['alice', 'bob', 'carol', 'dave', 'apphia'])
    u[name] = await registerAndLogin(base, name);
  await ok(base, 'PATCH', '/users/me', {
    auth: as('alice'),
    body: { displayName: 'Alice Liddell' },
  });
  await ok(base, 'POST', '/orgs', {
    auth: as('alice'),
    body: { name: 'acme', displayName: 'Acme Corporation' },
  });
  await ok(base, 'POST', '/orgs', { auth: as('carol'), body: { name: 'appliance' } });
  await ok(base, 'POST', '/orgs/acme/members', { auth: as('alice'), body: { username: 'bob' } });
  await ok(base, 'POST', '/orgs/acme/teams', { auth: as('alice'), body: { name: 'devs' } });
  await ok(base, 'PUT', '/orgs/acme/teams/devs/members/bob', { auth: as('alice') });
  const repos: [string, string, string, 'public' | 'private'][] = [
    ['alice', 'alice', 'app', 'public'],
    ['alice', 'alice', 'secret-app', 'private'],
    ['alice', 'alice', 'my_tool', 'public'],
    ['alice', 'acme', 'app', 'private'],
    ['alice', 'acme', 'tools/app', 'public'],
    ['bob', 'bob', 'application', 'private'],
    ['bob', 'bob', 'myapp', 'public'],
    ['dave', 'dave', 'mapper', 'private'],
  ];
  for (const [owner, namespace, name, visibility] of repos)
    await ok(base, 'POST', '/repos', { auth: as(owner), body: { namespace, name, visibility } });
  await ok(base, 'PUT', '/repos/acme/app/permissions', {
    auth: as('alice'),
    body: { users: [], teams: [{ team: 'devs', level: 'read' }] },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('GET /api/v1/search', () => {
  it('ranks exact, then prefix, then substring matches; repositories, organizations, users; by name', async () => {
    expect(await names('app', as('admin'))).toEqual([
      'repository:acme/app@exact',
      'repository:acme/tools/app@exact',
      'repository:alice/app@exact',
      'repository:bob/application@prefix',
      'organization:appliance@prefix',
      'user:apphia@prefix',
      'repository:alice/secret-app@substring',
      'repository:bob/myapp@substring',
      'repository:dave/mapper@substring',
    ]);
    // Case-insensitive, surrounding spaces ignored.
    expect(await names('  APP ', as('admin'))).toEqual(await names('app', as('admin')));
    // A full name, and the trailing path of a nested repository, are exact matches.
    expect(await names('acme/tools/app', as('admin'))).toEqual(['repository:acme/tools/app@exact']);
    expect(await names('tools/app', as('admin'))).toEqual(['repository:acme/tools/app@exact']);
  });

  it('matches display names: whole (exact) and by word (prefix)', async () => {
    expect(await names('acme corporation', as('bob'))).toEqual(['organization:acme@exact']);
    expect(await names('liddell', as('bob'))).toEqual(['user:alice@prefix']);
    expect(await names('corp', as('bob'))).toEqual(['organization:acme@prefix']);
    expect(await names('orpor', as('bob'))).toEqual(['organization:acme@substring']);
  });

  it('shows each caller only what they may see', async () => {
    // bob: public repositories, his own, acme/app through his team; every org and active user.
    expect(await names('app', as('bob'))).toEqual([
      'repository:acme/app@exact',
      'repository:acme/tools/app@exact',
      'repository:alice/app@exact',
      'repository:bob/application@prefix',
      'organization:appliance@prefix',
      'user:apphia@prefix',
      'repository:bob/myapp@substring',
    ]);
    // dave: public repositories and his own.
    expect(await names('app', as('dave'))).toEqual([
      'repository:acme/tools/app@exact',
      'repository:alice/app@exact',
      'organization:appliance@prefix',
      'user:apphia@prefix',
      'repository:bob/myapp@substring',
      'repository:dave/mapper@substring',
    ]);
    // Anonymous: public repositories, and only users and organizations holding one.
    expect(await names('app')).toEqual([
      'repository:acme/tools/app@exact',
      'repository:alice/app@exact',
      'repository:bob/myapp@substring',
    ]);
    expect(await names('a', undefined, '&kind=user,organization')).toEqual([
      'organization:acme@prefix',
      'user:alice@prefix',
    ]);
    expect(await names('bob', undefined, '&kind=user')).toEqual(['user:bob@exact']);
    expect(await names('liddell')).toEqual(['user:alice@prefix']);
    expect(await names('dave')).toEqual([]);
    expect(await names('dave', as('bob'))).toEqual(['user:dave@exact']);
  });

  it("describes each result, with the caller's permission on repositories", async () => {
    const body = await ok(base, 'GET', '/search?q=app&perPage=100', { auth: as('bob') });
    const byName = new Map(body.items.map((i: Json) => [i.name, i]));
    expect(byName.get('acme/app')).toEqual({
      kind: 'repository',
      name: 'acme/app',
      match: 'exact',
      namespace: 'acme',
      visibility: 'private',
      description: null,
      displayName: null,
      lastPushedAt: null,
      permission: 'read',
    });
    expect(byName.get('bob/application')).toMatchObject({ permission: 'admin' });
    expect(byName.get('alice/app')).toMatchObject({ permission: 'read', visibility: 'public' });
    expect(byName.get('appliance')).toEqual({
      kind: 'organization',
      name: 'appliance',
      match: 'prefix',
      displayName: null,
      description: null,
    });
    expect(byName.get('apphia')).toEqual({
      kind: 'user',
      name: 'apphia',
      match: 'prefix',
      displayName: null,
      description: null,
    });
    expect(JSON.stringify(body)).not.toMatch(/email|isAdmin|password|"id"/);
  });

  it('pages through the ranked list without gaps or repeats, and counts per kind', async () => {
    const all = await names('app', as('admin'));
    const pages: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const body = await ok(base, 'GET', `/search?q=app&perPage=2&page=${page}`, {
        auth: as('admin'),
      });
      expect(body).toMatchObject({
        total: 9,
        page,
        perPage: 2,
        counts: { repository: 7, organization: 1, user: 1 },
      });
      expect(body.items.length).toBe(page < 5 ? 2 : 1);
      pages.push(...body.items.map((i: Json) => `${i.kind}:${i.name}@${i.match}`));
    }
    const last = await ok(base, 'GET', '/search?q=app&perPage=2&page=5', { auth: as('admin') });
    pages.push(...last.items.map((i: Json) => `${i.kind}:${i.name}@${i.match}`));
    expect(pages).toEqual(all);
    const beyond = await ok(base, 'GET', '/search?q=app&perPage=2&page=6', { auth: as('admin') });
    expect(beyond).toMatchObject({ items: [], total: 9 });
  });

  it('filters by kind, keeping the counts of every kind', async () => {
    const body = await ok(base, 'GET', '/search?q=app&kind=user&kind=organization', {
      auth: as('bob'),
    });
    expect(body.items.map((i: Json) => i.name)).toEqual(['appliance', 'apphia']);
    expect(body.total).toBe(2);
    expect(body.counts).toEqual({ repository: 5, organization: 1, user: 1 });
    expect(await names('app', as('bob'), '&kind=repository')).toHaveLength(5);
  });

  it('treats LIKE wildcards in the term literally', async () => {
    expect(await names('_', as('admin'))).toEqual(['repository:alice/my_tool@substring']);
    expect(await names('%', as('admin'))).toEqual([]);
    expect(await names('\\', as('admin'))).toEqual([]);
  });

  it('never lists deactivated users', async () => {
    expect(await names('carol', as('admin'))).toEqual(['user:carol@exact']);
    await ok(base, 'PATCH', '/users/carol', { auth: as('admin'), body: { active: false } });
    expect(await names('carol', as('admin'))).toEqual([]);
    expect(await names('carol', as('bob'))).toEqual([]);
  });

  it('rejects a missing, blank or oversized term and bad paging or kinds with 400', async () => {
    for (const query of [
      '',
      '?q=',
      '?q=%20%20',
      `?q=${'a'.repeat(101)}`,
      '?q=app&kind=image',
      '?q=app&perPage=0',
      '?q=app&perPage=101',
      '?q=app&page=0',
      '?q=app&extra=1',
    ]) {
      const r = await api(base, 'GET', `/search${query}`);
      expect({ query, status: r.status }).toEqual({ query, status: 400 });
    }
    const missing = await api(base, 'GET', '/search');
    expect(JSON.stringify(missing.body.message)).toContain('q is required');
    const kind = await api(base, 'GET', '/search?q=app&kind=image');
    expect(JSON.stringify(kind.body.message)).toContain(
      'kind must be one of repository, organization, user',
    );
  });

  it('refuses invalid credentials rather than searching anonymously', async () => {
    expect((await api(base, 'GET', '/search?q=app', { auth: { bearer: 'nope' } })).status).toBe(
      401,
    );
  });
});

describe('search indexes', () => {
  it('has pg_trgm and a trigram index that serves the name conditions', async () => {
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      const ext = await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`);
      expect(ext.rowCount).toBe(1);
      const idx = await client.query(
        `SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm' ORDER BY indexname`,
      );
      const partial = await client.query(
        `SELECT 1 FROM pg_indexes WHERE indexname = 'repositories_public_namespace'`,
      );
      expect(partial.rowCount).toBe(1);
      expect(idx.rows.map((r) => r.indexname)).toEqual([
        'organizations_display_name_trgm',
        'organizations_name_trgm',
        'repositories_name_trgm',
        'users_display_name_trgm',
        'users_username_trgm',
      ]);
      // The tables are tiny here, so make the planner show whether the index can serve at all.
      await client.query('SET enable_seqscan = off');
      const plan = async (sql: string) =>
        (await client.query(`EXPLAIN ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(await plan(`SELECT id FROM repositories WHERE name LIKE '%app%'`)).toContain(
        'repositories_name_trgm',
      );
      const users = await plan(
        `SELECT id FROM users WHERE username LIKE '%app%' OR lower(display_name) LIKE '%app%'`,
      );
      expect(users).toContain('users_username_trgm');
      expect(users).toContain('users_display_name_trgm');
    } finally {
      await client.end();
    }
  });

  it('falls back to unindexed search when the role may not create pg_trgm', async () => {
    // A role that owns its schema but lacks CREATE on the database cannot create extensions.
    const role = `${testDatabasePrefix()}limited`;
    const dbName = `${role}_db`;
    const password = 'limited-role-password';
    const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    let limited: TestServer | undefined;
    try {
      await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
      await admin.query(`CREATE DATABASE "${dbName}"`);
      await admin.query(`REVOKE ALL ON DATABASE "${dbName}" FROM PUBLIC`);
      await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE "${dbName}" TO "${role}"`);
      const url = new URL(adminDatabaseUrl());
      url.pathname = `/${dbName}`;
      const owner = new pg.Client({ connectionString: url.toString() });
      await owner.connect();
      await owner.query(`CREATE SCHEMA aerugo AUTHORIZATION "${role}"`);
      await owner.query(`ALTER ROLE "${role}" SET search_path = aerugo`);
      const installed = await owner.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`);
      await owner.end();
      expect(installed.rowCount).toBe(0);
      url.username = role;
      url.password = password;
      limited = await startServer({
        databaseUrl: url.toString(),
        env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
      });
      expect(limited.logs()).toContain('pg_trgm is not available');
      const token = (await login(limited.url, ADMIN.username, ADMIN.password)).accessToken;
      await ok(limited.url, 'POST', '/repos', {
        auth: { bearer: token },
        body: { namespace: ADMIN.username, name: 'app', visibility: 'public' },
      });
      const body = await ok(limited.url, 'GET', '/search?q=app');
      expect(body.items.map((i: Json) => i.name)).toEqual([`${ADMIN.username}/app`]);
    } finally {
      await limited?.stop();
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}"`);
      await admin.query(`DROP ROLE IF EXISTS "${role}"`);
      await admin.end();
    }
  });
});
