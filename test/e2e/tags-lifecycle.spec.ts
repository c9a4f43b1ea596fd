// Tag history, restore and immutable tag patterns end to end on one node and the real
// PostgreSQL: every creation, move and deletion (registry and management API) is in the history
// with who made it; a restore is a push; an immutable tag can be created and pushed again with
// the same digest but not moved or deleted, and a refusal leaves tags, manifests, history and
// outbox exactly as they were; concurrent first pushes of an immutable tag cannot both win.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { basicHeader, errorCode, RegistryClient, sha256 } from '../support/registry.js';
import { createTestDatabase, startServer, type TestServer } from '../support/server.js';
import { api, type Json, ok, registerAndLogin } from './identity-support.js';

let server: TestServer;
let db: pg.Client;
let base: string;
const users: Record<string, { bearer: string }> = {};
const reg: Record<string, RegistryClient> = {};
const REPO = 'olga/app';
let A: string;
let B: string;
let bodyA: string;
let bodyB: string;

const history = async (tag: string, who = 'olga'): Promise<Json[]> =>
  (await ok(base, 'GET', `/repos/${REPO}/tags/${tag}/history`, { auth: users[who] })).items;
const changes = async (tag: string): Promise<string[]> =>
  (await history(tag)).map((h: Json) => `${h.action} ${h.oldDigest ?? '-'} ${h.newDigest ?? '-'}`);
const tagList = async (): Promise<string[]> =>
  ((await (await reg.olga.fetch(`/v2/${REPO}/tags/list`)).json()) as { tags: string[] }).tags;
const count = async (table: string): Promise<number> =>
  Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
const lastOutboxId = async (): Promise<string> =>
  String((await db.query(`SELECT coalesce(max(id), 0) AS id FROM outbox`)).rows[0].id);

beforeAll(async () => {
  const databaseUrl = await createTestDatabase();
  server = await startServer({ databaseUrl });
  base = server.url;
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  for (const name of ['olga', 'rita', 'will']) {
    const u = await registerAndLogin(base, name);
    users[name] = { bearer: u.accessToken };
    reg[name] = new RegistryClient(base, { authorization: basicHeader(name, u.password) });
  }
  ({ digest: A, body: bodyA } = await reg.olga.pushImage(REPO, 'seed', ['layer-a']));
  ({ digest: B, body: bodyB } = await reg.olga.pushImage(REPO, 'seed-b', ['layer-b']));
  for (const [name, level] of [
    ['rita', 'read'],
    ['will', 'write'],
  ])
    await ok(base, 'PUT', `/repos/${REPO}/permissions/users/${name}`, {
      auth: users.olga,
      body: { level },
    });
}, 60_000);

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

describe('tag history', () => {
  it('records creation and moves with the actor; a same-digest re-push is no change', async () => {
    expect((await reg.olga.putManifest(REPO, 'v1', bodyA)).status).toBe(201);
    expect((await reg.will.putManifest(REPO, 'v1', bodyB)).status).toBe(201);
    expect((await reg.will.putManifest(REPO, 'v1', bodyB)).status).toBe(201);
    expect(await changes('v1')).toEqual([`moved ${A} ${B}`, `created - ${A}`]);
    const [moved, created] = await history('v1', 'rita');
    expect(moved.actor).toEqual({ kind: 'user', name: 'will' });
    expect(created.actor).toEqual({ kind: 'user', name: 'olga' });
    expect(new Date(moved.at).getTime()).toBeGreaterThanOrEqual(new Date(created.at).getTime());
    // Paged newest first.
    const page = await ok(base, 'GET', `/repos/${REPO}/tags/v1/history?perPage=1&page=2`, {
      auth: users.olga,
    });
    expect(page).toMatchObject({ total: 2, page: 2, perPage: 1 });
    expect(page.items.map((h: Json) => h.action)).toEqual(['created']);
  });

  it('records deletes through the registry, the management API and with the manifest', async () => {
    expect((await reg.olga.fetch(`/v2/${REPO}/manifests/v1`, { method: 'DELETE' })).status).toBe(
      202,
    );
    expect((await changes('v1'))[0]).toBe(`deleted ${B} -`);
    // A deleted tag can be restored from its history: it is created again.
    expect(
      await ok(base, 'POST', `/repos/${REPO}/tags/v1/restore`, {
        auth: users.olga,
        body: { digest: B },
        expect: 200,
      }),
    ).toEqual({ tag: 'v1', digest: B, previousDigest: null });
    expect((await changes('v1'))[0]).toBe(`created - ${B}`);
    await ok(base, 'DELETE', `/repos/${REPO}/tags/v1`, { auth: users.olga });
    await reg.olga.putManifest(REPO, 'v2', bodyA);
    await ok(base, 'DELETE', `/repos/${REPO}/tags/v2`, { auth: users.olga });
    expect(await changes('v2')).toEqual([`deleted ${A} -`, `created - ${A}`]);
    const { digest: C } = await reg.olga.pushImage(REPO, 'v3', ['layer-c']);
    expect((await reg.olga.fetch(`/v2/${REPO}/manifests/${C}`, { method: 'DELETE' })).status).toBe(
      202,
    );
    expect(await changes('v3')).toEqual([`deleted ${C} -`, `created - ${C}`]);
  });

  it('restores a tag to an earlier digest as a push (history, outbox), for writers only', async () => {
    await reg.olga.putManifest(REPO, 'latest', bodyA);
    await reg.olga.putManifest(REPO, 'latest', bodyB);
    const before = await lastOutboxId();
    const denied = await api(base, 'POST', `/repos/${REPO}/tags/latest/restore`, {
      auth: users.rita,
      body: { digest: A },
    });
    expect(denied.status).toBe(403);
    const restored = await ok(base, 'POST', `/repos/${REPO}/tags/latest/restore`, {
      auth: users.will,
      body: { digest: A },
      expect: 200,
    });
    expect(restored).toEqual({ tag: 'latest', digest: A, previousDigest: B });
    const res = await reg.rita.fetch(`/v2/${REPO}/manifests/latest`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.headers.get('docker-content-digest')).toBe(A);
    expect((await history('latest'))[0]).toMatchObject({
      action: 'moved',
      oldDigest: B,
      newDigest: A,
      actor: { kind: 'user', name: 'will' },
    });
    const events = await db.query(`SELECT event, payload FROM outbox WHERE id > $1 ORDER BY id`, [
      before,
    ]);
    expect(events.rows.map((r) => r.event)).toEqual(['manifest.pushed']);
    expect(events.rows[0].payload).toMatchObject({
      moved: [{ tag: 'latest', from: expect.any(String) }],
      digest: A,
    });
  });

  it('refuses a restore to a digest the tag never had (404) or whose manifest is gone (409)', async () => {
    const { digest: D } = await reg.olga.pushImage(REPO, 'gone', ['layer-d']);
    await reg.olga.putManifest(REPO, 'gone', bodyA);
    expect((await reg.olga.fetch(`/v2/${REPO}/manifests/${D}`, { method: 'DELETE' })).status).toBe(
      202,
    );
    const r = await api(base, 'POST', `/repos/${REPO}/tags/gone/restore`, {
      auth: users.olga,
      body: { digest: D },
    });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('MANIFEST_GONE');
    const never = await api(base, 'POST', `/repos/${REPO}/tags/gone/restore`, {
      auth: users.olga,
      body: { digest: B },
    });
    expect(never.status).toBe(404);
    const bad = await api(base, 'POST', `/repos/${REPO}/tags/gone/restore`, {
      auth: users.olga,
      body: { digest: 'latest' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('immutable tags', () => {
  it('only repository admins change the patterns; readers see them; bad patterns are refused', async () => {
    const body = { patterns: ['v*', 'stable', 'rc-?'] };
    expect(
      (await api(base, 'PUT', `/repos/${REPO}/immutable-tags`, { auth: users.will, body })).status,
    ).toBe(403);
    expect(
      (
        await api(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
          auth: users.olga,
          body: { patterns: ['a b'] },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
          auth: users.olga,
          body: { patterns: Array.from({ length: 33 }, (_, i) => `t${i}`) },
        })
      ).status,
    ).toBe(400);
    expect(
      await ok(base, 'PUT', `/repos/${REPO}/immutable-tags`, { auth: users.olga, body }),
    ).toEqual(body);
    expect(await ok(base, 'GET', `/repos/${REPO}/immutable-tags`, { auth: users.rita })).toEqual(
      body,
    );
    // Concurrent replacements take turns (no duplicate-key failure), each one whole.
    for (let round = 0; round < 3; round++) {
      await ok(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
        auth: users.olga,
        body: { patterns: [] },
      });
      const racing = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          api(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
            auth: users.olga,
            body: { patterns: i % 2 ? ['a*', 'b*'] : ['b*', 'a*'] },
          }),
        ),
      );
      expect(racing.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(
        (await ok(base, 'GET', `/repos/${REPO}/immutable-tags`, { auth: users.olga })).patterns,
      ).toHaveLength(2);
    }
    await ok(base, 'PUT', `/repos/${REPO}/immutable-tags`, { auth: users.olga, body });
  });

  it('lets a matching tag be created and pushed again with the same digest', async () => {
    expect((await reg.olga.putManifest(REPO, 'v9', bodyA)).status).toBe(201);
    expect((await reg.will.putManifest(REPO, 'v9', bodyA)).status).toBe(201);
    expect(await changes('v9')).toEqual([`created - ${A}`]);
  });

  it('refuses a move, a tag delete and a manifest delete, leaving everything as it was', async () => {
    const tags = await tagList();
    const outbox = await lastOutboxId();
    const historyRows = await count('tag_history');
    const manifests = await count('manifests');

    const move = await reg.will.putManifest(REPO, 'v9', bodyB);
    expect(move.status).toBe(403);
    const moveBody = (await move.json()) as { errors: { code: string; message: string }[] };
    expect(moveBody.errors[0].code).toBe('DENIED');
    expect(moveBody.errors[0].message).toContain('"v*"');
    // Also when the tag comes with ?tag= beside another one.
    expect(
      (
        await reg.olga.fetch(`/v2/${REPO}/manifests/${B}?tag=other&tag=v9`, {
          method: 'PUT',
          body: bodyB,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).status,
    ).toBe(403);
    const regDelete = await reg.olga.fetch(`/v2/${REPO}/manifests/v9`, { method: 'DELETE' });
    expect(regDelete.status).toBe(403);
    expect(await errorCode(regDelete)).toBe('DENIED');
    const manifestDelete = await reg.olga.fetch(`/v2/${REPO}/manifests/${A}`, { method: 'DELETE' });
    expect(manifestDelete.status).toBe(403);
    expect(await errorCode(manifestDelete)).toBe('DENIED');
    const apiDelete = await api(base, 'DELETE', `/repos/${REPO}/tags/v9`, { auth: users.olga });
    expect(apiDelete.status).toBe(409);
    expect(apiDelete.body.code).toBe('TAG_IMMUTABLE');
    expect(apiDelete.body.message).toContain('"v*"');
    const restore = await api(base, 'POST', `/repos/${REPO}/tags/v9/restore`, {
      auth: users.olga,
      body: { digest: A },
    });
    // A restore to where the tag already points changes (and records) nothing.
    expect(restore.status).toBe(200);
    expect(restore.body).toEqual({ tag: 'v9', digest: A, previousDigest: A });

    expect(await tagList()).toEqual(tags);
    expect(tags).not.toContain('other');
    const byTag = await reg.olga.fetch(`/v2/${REPO}/manifests/v9`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(byTag.headers.get('docker-content-digest')).toBe(A);
    expect((await reg.olga.fetch(`/v2/${REPO}/manifests/${A}`, { method: 'HEAD' })).status).toBe(
      200,
    );
    expect(await lastOutboxId()).toBe(outbox);
    expect(await count('tag_history')).toBe(historyRows);
    expect(await count('manifests')).toBe(manifests);
  });

  it('refuses restoring an immutable tag to another digest', async () => {
    // `stable` existed before the rule; it may no longer move back.
    await ok(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
      auth: users.olga,
      body: { patterns: [] },
    });
    await reg.olga.putManifest(REPO, 'stable', bodyA);
    await reg.olga.putManifest(REPO, 'stable', bodyB);
    await ok(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
      auth: users.olga,
      body: { patterns: ['v*', 'stable', 'rc-?'] },
    });
    const r = await api(base, 'POST', `/repos/${REPO}/tags/stable/restore`, {
      auth: users.olga,
      body: { digest: A },
    });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('TAG_IMMUTABLE');
  });

  it('lets only one of two concurrent first pushes of an immutable tag win', async () => {
    for (const tag of ['rc-1', 'rc-2', 'rc-3', 'rc-4']) {
      const [x, y] = await Promise.all([
        reg.olga.putManifest(REPO, tag, bodyA),
        reg.will.putManifest(REPO, tag, bodyB),
      ]);
      expect([x.status, y.status].sort()).toEqual([201, 403]);
      const winner = x.status === 201 ? A : B;
      const res = await reg.olga.fetch(`/v2/${REPO}/manifests/${tag}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      expect(res.headers.get('docker-content-digest')).toBe(winner);
      expect(await changes(tag)).toEqual([`created - ${winner}`]);
    }
  });

  it('lifting the rules lets the tag be deleted again', async () => {
    await ok(base, 'PUT', `/repos/${REPO}/immutable-tags`, {
      auth: users.olga,
      body: { patterns: [] },
    });
    await ok(base, 'DELETE', `/repos/${REPO}/tags/v9`, { auth: users.olga });
    expect(await tagList()).not.toContain('v9');
  });
});

describe('repository details', () => {
  it("list each tag's size, platforms, push time and pull figures", async () => {
    const details = await ok(base, 'GET', `/repos/${REPO}`, { auth: users.rita });
    const latest = details.tags.find((t: Json) => t.name === 'latest');
    expect(latest).toMatchObject({ digest: A, platforms: ['linux/amd64'] });
    expect(latest.size).toBeGreaterThan(Buffer.byteLength(bodyA));
    expect(typeof latest.pushedAt).toBe('string');
    expect('lastPulledAt' in latest).toBe(true);
    expect(sha256(bodyA)).toBe(A);
  });
});
