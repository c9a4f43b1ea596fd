// The audit log through HTTP against the real PostgreSQL: what each kind of change records (in the
// change's transaction), who sees which rows, the filters, cursor paging, AUDIT_PULLS and the
// retention pruning. A second node (in this process, on the same database) runs with
// AUDIT_PULLS=true and AUDIT_RETENTION_DAYS=1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { distClass, type InProcessNode, startInProcess } from '../support/in-process.js';
import { basicHeader, RegistryClient, waitFor } from '../support/registry.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { PROJECT_ROOT } from '../support/test-env.js';
import {
  ADMIN,
  api,
  type Auth,
  decodeJwt,
  type Json,
  ok,
  registerAndLogin,
  registryToken,
  type TestUser,
} from './identity-support.js';

let server: TestServer;
let node: InProcessNode;
let base: string;
let db: pg.Client;
const u: Record<string, TestUser> = {};
const as = (name: string): Auth => ({ bearer: u[name].accessToken });
const admin: Auth = { basic: [ADMIN.username, ADMIN.password] };
const reg = (name: string, at = base) =>
  new RegistryClient(at, { authorization: basicHeader(u[name].username, u[name].password) });

interface Entry {
  id: string;
  time: string;
  action: string;
  actor: { kind: string; id: string | null; name: string | null; credential: string };
  requestId: string;
  namespace: string | null;
  repository: string | null;
  target: string | null;
  details: Json;
}

/** Every entry `auth` sees with `query` (following the cursor, `limit` per page). */
async function audit(
  auth: Auth,
  query: Record<string, string> = {},
  limit = 200,
): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({
      ...query,
      limit: String(limit),
      ...(cursor ? { cursor } : {}),
    });
    const page: { items: Entry[]; nextCursor: string | null } = await ok(
      base,
      'GET',
      `/audit?${q}`,
      { auth },
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

const actions = (rows: Entry[]) => rows.map((r) => r.action);

let digest1 = '';
let digest2 = '';

beforeAll(async () => {
  server = await startServer({
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  base = server.url;
  db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  for (const name of ['olga', 'adam', 'mia', 'otto']) u[name] = await registerAndLogin(base, name);
  // acme: olga owns it, adam administers it, mia is a plain member; otto is an outsider.
  await ok(base, 'POST', '/orgs', { auth: as('olga'), body: { name: 'acme' } });
  await ok(base, 'POST', '/orgs/acme/members', {
    auth: as('olga'),
    body: { username: 'adam', role: 'admin' },
  });
  await ok(base, 'POST', '/orgs/acme/members', { auth: as('adam'), body: { username: 'mia' } });
  await ok(base, 'POST', '/orgs/acme/teams', { auth: as('adam'), body: { name: 'devs' } });
  await ok(base, 'PUT', '/orgs/acme/teams/devs/members/mia', { auth: as('adam') });
  await ok(base, 'POST', '/repos', { auth: as('olga'), body: { namespace: 'acme', name: 'app' } });
  await ok(base, 'PUT', '/repos/acme/app/permissions/users/mia', {
    auth: as('olga'),
    body: { level: 'write' },
  });
  // Pushes by HTTP: v1, then v1 moved to another manifest; then the tag and manifest deleted.
  digest1 = (await reg('mia').pushImage('acme/app', 'v1', ['layer-one'])).digest;
  digest2 = (await reg('mia').pushImage('acme/app', 'v1', ['layer-two'])).digest;
  await reg('otto').pushImage('otto/own', 'latest', ['otto-layer']);
  node = await startInProcess({
    DATABASE_URL: server.databaseUrl!,
    DATA_DIR: server.dataDir,
    AUDIT_PULLS: 'true',
    AUDIT_RETENTION_DAYS: '1',
  });
}, 120_000);

afterAll(async () => {
  await node?.close();
  await db?.end();
  await server?.stop();
});

describe('what is recorded', () => {
  it('a push records manifest.pushed with tags and size; a tag that moved says from where', async () => {
    const pushes = await audit(admin, { repository: 'acme/app', action: 'manifest.pushed' });
    expect(pushes.map((p) => p.target)).toEqual([digest2, digest1]);
    const [second, first] = pushes;
    expect(first).toMatchObject({
      namespace: 'acme',
      repository: 'acme/app',
      actor: { kind: 'user', name: 'mia', credential: 'password' },
      details: { tags: ['v1'], moved: [], created: true, size: expect.any(Number) },
    });
    expect(second.details.moved).toEqual([{ tag: 'v1', from: digest1 }]);
    expect(second.details.size).toBeGreaterThan(100);
  });

  it('deleting a tag and a manifest by digest are recorded', async () => {
    const client = reg('olga');
    expect((await client.fetch('/v2/acme/app/manifests/v1', { method: 'DELETE' })).status).toBe(
      202,
    );
    expect(
      (await client.fetch(`/v2/acme/app/manifests/${digest1}`, { method: 'DELETE' })).status,
    ).toBe(202);
    const rows = await audit(admin, { repository: 'acme/app', action: 'manifest.deleted' });
    expect(rows.map((r) => r.target)).toEqual([digest1]);
    const tags = await audit(admin, { repository: 'acme/app', action: 'tag.deleted' });
    expect(tags.map((r) => r.target)).toEqual(['v1']);
  });

  it('org, team, membership, repository and grant changes are recorded on the org', async () => {
    const rows = await audit(admin, { namespace: 'acme' });
    for (const a of [
      'org.created',
      'org.member.added',
      'team.created',
      'team.member.added',
      'repository.created',
      'repository.grants.changed',
    ])
      expect(actions(rows)).toContain(a);
    const adamAdded = rows.find((r) => r.action === 'org.member.added' && r.target === 'adam');
    expect(adamAdded).toMatchObject({ actor: { name: 'olga' }, details: { role: 'admin' } });
    const grant = rows.find((r) => r.action === 'repository.grants.changed');
    expect(grant).toMatchObject({ repository: 'acme/app', target: 'mia' });
    expect(grant!.details.change).toMatchObject({ kind: 'user', level: 'write' });
  });

  it('signing in and a wrong password are recorded, never the password', async () => {
    const bad = await api(base, 'POST', '/auth/login', {
      body: { username: 'olga', password: 'Wrong-Secret-123' },
    });
    expect(bad.status).toBe(401);
    const nobody = await api(base, 'POST', '/auth/login', {
      body: { username: 'Not-A-User-Typed-Password', password: 'Wrong-Secret-123' },
    });
    expect(nobody.status).toBe(401);
    const mine = await audit(as('olga'), { action: 'auth.' });
    expect(actions(mine)).toEqual(['auth.sign-in.failed', 'auth.signed-in']);
    expect(mine[0]).toMatchObject({
      namespace: 'olga',
      target: 'olga',
      actor: { kind: 'anonymous', credential: 'anonymous' },
    });
    expect(mine[1]).toMatchObject({
      namespace: 'olga',
      actor: { kind: 'user', name: 'olga', credential: 'password' },
      details: { via: 'api', sessionId: expect.any(String) },
    });
    // The unknown name is not kept (it may be a password typed into the wrong field).
    const failed = await audit(admin, { action: 'auth.sign-in.failed' });
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatchObject({ namespace: null, target: null, details: {} });
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM audit_log a WHERE a::text ILIKE '%wrong-secret%'
          OR a::text ILIKE '%not-a-user%'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('API keys, logout and session revocation are recorded', async () => {
    const key = await ok(base, 'POST', '/api-keys', { auth: as('otto'), body: { name: 'ci' } });
    await ok(base, 'DELETE', `/api-keys/${key.id}`, { auth: as('otto'), expect: 204 });
    const second = await ok(base, 'POST', '/auth/login', {
      body: { username: 'otto', password: u.otto.password },
      expect: 200,
    });
    const third = await ok(base, 'POST', '/auth/login', {
      body: { username: 'otto', password: u.otto.password },
      expect: 200,
    });
    await ok(base, 'DELETE', `/auth/sessions/${decodeJwt(third.accessToken).sid}`, {
      auth: as('otto'),
      expect: 204,
    });
    await ok(base, 'POST', '/auth/logout', { auth: { bearer: second.accessToken }, expect: 204 });
    const rows = await audit(as('otto'), { namespace: 'otto' });
    expect(actions(rows).slice(0, 6)).toEqual([
      'session.revoked',
      'session.revoked',
      'auth.signed-in',
      'auth.signed-in',
      'apikey.revoked',
      'apikey.created',
    ]);
    expect(rows[0].details.reason).toBe('logout');
    expect(rows[1].details.reason).toBe('revoked');
    expect(rows[1].target).toBe(decodeJwt(third.accessToken).sid);
    expect(rows[4].target).toBe(key.id);
    expect(rows[5]).toMatchObject({ target: 'ci', details: { apiKeyId: key.id } });
  });

  it('a registry token granting push is recorded; a pull-only one is not', async () => {
    const basic: Auth = { basic: [u.mia.username, u.mia.password] };
    expect((await registryToken(base, ['repository:acme/app:pull'], basic)).status).toBe(200);
    expect((await registryToken(base, ['repository:acme/app:pull,push'], basic)).status).toBe(200);
    const rows = await audit(as('mia'), { action: 'token.issued' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      namespace: 'mia',
      actor: { name: 'mia', credential: 'password' },
      details: { kind: 'registry', grant: 'password', scopes: ['repository:acme/app:pull,push'] },
    });
  });

  it('a refused write leaves no audit row, and a transaction that rolls back after recording neither', async () => {
    const before = await audit(admin);
    const taken = await api(base, 'POST', '/orgs', { auth: as('otto'), body: { name: 'acme' } });
    expect(taken.status).toBe(409);
    const events = node.get(await distClass('events/events.service.js', 'EventsService')) as Json;
    await expect(
      events.transaction(async (m: Json) => {
        await events.record(m, {
          name: 'org.updated',
          actor: {
            principal: { kind: 'system', name: 'test' },
            credential: 'system',
            requestId: 'rolled-back',
          },
          payload: { organizationId: '00000000-0000-4000-8000-000000000000', name: 'acme' },
        });
        const rows: { n: number }[] = await m.query(
          `SELECT count(*)::int AS n FROM audit_log WHERE request_id = 'rolled-back'`,
        );
        expect(rows[0].n).toBe(1); // written in the transaction…
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE request_id = 'rolled-back'`,
    );
    expect(rows[0].n).toBe(0); // …and gone with it
    expect((await audit(admin)).length).toBe(before.length);
  });
});

describe('who sees what', () => {
  it('the system administrator sees every entry', async () => {
    const all = await audit(admin);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM audit_log`);
    expect(all).toHaveLength(rows[0].n);
    expect(all.some((r) => r.namespace === 'otto')).toBe(true);
  });

  it("organization owners and admins see their organization's entries, by anyone", async () => {
    for (const who of ['olga', 'adam']) {
      const rows = await audit(as(who), { namespace: 'acme' });
      expect(rows.some((r) => r.action === 'manifest.pushed' && r.actor.name === 'mia')).toBe(true);
      expect(rows.some((r) => r.action === 'org.created' && r.actor.name === 'olga')).toBe(true);
    }
    // …but not what happens on another member's own namespace.
    const adam = await audit(as('adam'));
    expect(adam.filter((r) => r.namespace === 'olga' && r.actor.name !== 'adam')).toEqual([]);
  });

  it('a plain member sees what they did and their own namespace, not the rest of the org', async () => {
    const rows = await audit(as('mia'));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.actor.name === 'mia' || r.namespace === 'mia').toBe(true);
    expect(rows.some((r) => r.action === 'manifest.pushed')).toBe(true); // her own pushes
    expect(rows.some((r) => r.action === 'org.created')).toBe(false);
  });

  it('an outsider sees only their own entries', async () => {
    const rows = await audit(as('otto'));
    for (const r of rows) expect(r.actor.name === 'otto' || r.namespace === 'otto').toBe(true);
    expect(await audit(as('otto'), { namespace: 'acme' })).toEqual([]);
  });
});

describe('a name taken again', () => {
  it("the new holder of a deleted user's name does not see the old user's rows", async () => {
    const first = await registerAndLogin(base, 'reused');
    await ok(base, 'POST', '/api-keys', {
      auth: { bearer: first.accessToken },
      body: { name: 'k' },
    });
    await ok(base, 'DELETE', '/users/reused', { auth: admin, expect: 204 });
    const second = await registerAndLogin(base, 'reused', 'another-password-2');
    const rows = await audit({ bearer: second.accessToken });
    expect(actions(rows)).toEqual(['auth.signed-in', 'user.created']);
    expect(actions(await audit(admin, { namespace: 'reused' }))).toContain('apikey.created');
  });
});

describe('filters and paging', () => {
  it('filters by namespace, repository, actor, action (exact or prefix) and time', async () => {
    const all = await audit(admin);
    const check = async (q: Record<string, string>, keep: (r: Entry) => boolean) => {
      const want = all.filter(keep).map((r) => r.id);
      expect(want.length).toBeGreaterThan(0);
      expect((await audit(admin, q)).map((r) => r.id)).toEqual(want);
    };
    await check({ namespace: 'acme' }, (r) => r.namespace === 'acme');
    await check({ repository: 'otto/own' }, (r) => r.repository === 'otto/own');
    await check({ actor: 'adam' }, (r) => r.actor.name === 'adam');
    await check({ action: 'org.member.added' }, (r) => r.action === 'org.member.added');
    await check({ action: 'manifest.' }, (r) => r.action.startsWith('manifest.'));
    await check({ action: 'team.*' }, (r) => r.action.startsWith('team.'));
    const mid = all[Math.floor(all.length / 2)].time;
    await check({ since: mid }, (r) => r.time >= mid);
    await check({ until: mid }, (r) => r.time < mid);
    expect(await audit(admin, { until: '2000-01-01' })).toEqual([]);
  });

  it('pages newest first with an opaque cursor, each entry once', async () => {
    const all = await audit(admin);
    const paged = await audit(admin, {}, 3);
    expect(paged.map((r) => r.id)).toEqual(all.map((r) => r.id));
    expect(new Set(paged.map((r) => r.id)).size).toBe(paged.length);
    const keys = paged.map((r) => `${r.time}|${r.id.padStart(12, '0')}`);
    expect([...keys].sort().reverse()).toEqual(keys);
  });

  it('refuses bad input with 400', async () => {
    for (const q of [
      'since=yesterday',
      'until=2024-13-01',
      'limit=0',
      'limit=1000',
      'cursor=not-a-cursor',
      'action=DROP%20TABLE',
      'repository=Bad Name',
    ]) {
      const r = await api(base, 'GET', `/audit?${q}`, { auth: admin });
      expect([q, r.status]).toEqual([q, 400]);
    }
    expect((await api(base, 'GET', '/audit')).status).toBe(401);
  });
});

describe('aerugo audit (CLI)', () => {
  it('lists what the caller may see, filtered, following the cursor past one page', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [join(PROJECT_ROOT, 'cli/bin/aerugo.js'), ...args], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: tempDir('aerugo-cli-home-'),
          AERUGO_SERVER: base,
          AERUGO_TOKEN: u.olga.accessToken,
        },
      });
    const want = await audit(as('olga'), { namespace: 'acme' });
    expect(want.length).toBeGreaterThan(5);
    const all = JSON.parse(
      (await run(['--json', 'audit', '--namespace', 'acme', '--limit', '0'])).stdout,
    );
    expect(all.map((e: Entry) => e.id)).toEqual(want.map((e) => e.id));
    const { stdout, stderr } = await run(['audit', '--action', 'manifest.pushed', '--limit', '1']);
    expect(stdout).toMatch(/TIME\s+ACTION\s+ACTOR\s+WHERE\s+TARGET/);
    expect(stdout).toContain('manifest.pushed');
    expect(stdout).toContain('acme/app');
    expect(stdout.trim().split('\n')).toHaveLength(2);
    expect(stderr).toMatch(/1 shown; --limit 0 shows all/);
  });
});

describe('AUDIT_PULLS and retention', () => {
  it('pulls are audited only by the node with AUDIT_PULLS=true', async () => {
    const path = '/v2/otto/own/manifests/latest';
    expect((await reg('otto').fetch(path)).status).toBe(200); // AUDIT_PULLS unset
    expect((await reg('otto', node.url).fetch(path)).status).toBe(200);
    await waitFor(
      'the pull to be audited',
      async () => (await audit(as('otto'), { action: 'manifest.pulled' })).length > 0,
    );
    // The write of the pull on the first node would have landed long before: none is there.
    const rows = await audit(as('otto'), { action: 'manifest.pulled' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      repository: 'otto/own',
      target: 'latest',
      actor: { name: 'otto' },
      details: { digest: expect.stringMatching(/^sha256:/) },
    });
  });

  it('rows older than AUDIT_RETENTION_DAYS are pruned in batches, the rest kept', async () => {
    const all = await audit(admin);
    const old = all.slice(-3).map((r) => r.id);
    await db.query(
      `UPDATE audit_log SET created_at = now() - interval '2 days' WHERE id = ANY($1::bigint[])`,
      [old],
    );
    const service = node.get(await distClass('audit/audit.service.js', 'AuditService')) as Json;
    // Another node pruning (holding the pruning's advisory lock): this one skips its turn.
    await db.query(`SELECT pg_advisory_lock(1635083380)`);
    expect(await service.prune()).toBe(0);
    await db.query(`SELECT pg_advisory_unlock(1635083380)`);
    expect(await service.prune()).toBe(3);
    const left = await audit(admin);
    expect(left.map((r) => r.id)).toEqual(all.slice(0, -3).map((r) => r.id));
  });
});
