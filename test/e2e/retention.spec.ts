// Retention policies end to end on the filesystem driver and the real PostgreSQL: keepLatest,
// keepPattern, not pulled for D days (pull statistics and push times aged in the database),
// untagged manifests, immutable tags kept, referrers following their subject, tag history
// keeping a manifest, the namespace default overridden by the repository's policy; preview and
// dry run delete nothing; a GC run applies retention and later runs collect the bytes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { adminApiKey, basicHeader, RegistryClient, sha256, waitFor } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { api, type Json, ok, registerAndLogin } from './identity-support.js';

let server: TestServer;
let db: pg.Client;
let base: string;
let adminKey: string;
const users: Record<string, { bearer: string }> = {};
const reg: Record<string, RegistryClient> = {};
const m: Record<string, string> = {};

const LATEST = 'olga/latest';
const STALE = 'olga/stale';
const UNTAGGED = 'pia/untagged';

async function repoId(repo: string): Promise<string> {
  return (await db.query(`SELECT id FROM repositories WHERE name = $1`, [repo])).rows[0].id;
}
async function ageTag(repo: string, tag: string, days: number): Promise<void> {
  await db.query(
    `UPDATE tags SET updated_at = now() - make_interval(days => $3)
      WHERE repository_id = $1 AND name = $2`,
    [await repoId(repo), tag, days],
  );
}
async function ageManifest(repo: string, digest: string, days: number): Promise<void> {
  await db.query(
    `UPDATE manifests SET created_at = now() - make_interval(days => $3)
      WHERE repository_id = $1 AND digest = $2`,
    [await repoId(repo), digest, days],
  );
}
async function pulled(repo: string, tag: string, daysAgo: number): Promise<void> {
  await db.query(
    `INSERT INTO pull_stats (repository_id, tag, pull_count, last_pulled_at)
     VALUES ($1, $2, 1, now() - make_interval(days => $3))`,
    [await repoId(repo), tag, daysAgo],
  );
}
async function tags(repo: string): Promise<string[]> {
  const r = await db.query(
    `SELECT name FROM tags WHERE repository_id = $1 ORDER BY name COLLATE "C"`,
    [await repoId(repo)],
  );
  return r.rows.map((x: { name: string }) => x.name);
}
async function manifests(repo: string): Promise<Set<string>> {
  const r = await db.query(`SELECT digest FROM manifests WHERE repository_id = $1`, [
    await repoId(repo),
  ]);
  return new Set(r.rows.map((x: { digest: string }) => x.digest));
}

/** Pushes an image (unique layer `layer`) by digest, untagged; its digest. */
async function pushUntagged(
  c: RegistryClient,
  repo: string,
  layer: string,
  subject?: string,
): Promise<string> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', layer });
  await c.pushBlob(repo, config);
  await c.pushBlob(repo, layer);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...(subject ? { artifactType: 'application/vnd.example.sig' } : {}),
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: Buffer.byteLength(config),
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: sha256(layer),
        size: Buffer.byteLength(layer),
      },
    ],
    ...(subject
      ? {
          subject: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: subject,
            size: (await (await c.fetch(`/v2/${repo}/manifests/${subject}`)).arrayBuffer())
              .byteLength,
          },
        }
      : {}),
  });
  const res = await c.putManifest(repo, sha256(body), body);
  if (res.status !== 201) throw new Error(`push ${repo}: ${res.status} ${await res.text()}`);
  return sha256(body);
}

async function gcRun(dryRun: boolean): Promise<Json> {
  const res = await fetch(`${base}/api/v1/admin/gc`, {
    method: 'POST',
    headers: { 'x-api-key': adminKey, 'content-type': 'application/json' },
    body: JSON.stringify({ dryRun }),
  });
  if (res.status !== 200) throw new Error(`gc: ${res.status} ${await res.text()}`);
  const run = (await res.json()) as Json;
  expect(run.errors).toEqual([]);
  return run;
}

const blobFile = (digest: string): string => {
  const [alg, hex] = digest.split(':');
  return join(server.dataDir, 'storage', 'blobs', alg, hex.slice(0, 2), hex);
};

beforeAll(async () => {
  server = await startServer({ env: { GC_GRACE_SECONDS: '1', GC_INTERVAL_SECONDS: '3600' } });
  base = server.url;
  adminKey = await adminApiKey(base);
  db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  for (const name of ['olga', 'pia']) {
    const u = await registerAndLogin(base, name);
    users[name] = { bearer: u.accessToken };
    reg[name] = new RegistryClient(base, { authorization: basicHeader(name, u.password) });
  }
  // olga/latest: keep the newest 2 and keep-*; `frozen` is immutable. Ages in days.
  const ages: [string, number][] = [
    ['a', 40],
    ['frozen', 35],
    ['keep-x', 30],
    ['b', 20],
    ['c', 10],
    ['d', 1],
  ];
  for (const [tag, age] of ages) {
    m[`latest:${tag}`] = (await reg.olga.pushImage(LATEST, tag, [`latest-layer-${tag}`])).digest;
    await ageTag(LATEST, tag, age);
  }
  await ok(base, 'PUT', `/repos/${LATEST}/immutable-tags`, {
    auth: users.olga,
    body: { patterns: ['frozen'] },
  });
  await ok(base, 'PUT', `/repos/${LATEST}/retention`, {
    auth: users.olga,
    body: { keepLatest: 2, keepPattern: ['keep-*'] },
  });
  // olga/stale: not pulled for 7 days.
  for (const tag of ['pulled', 'never', 'fresh', 'oldpull'])
    await reg.olga.pushImage(STALE, tag, [`stale-layer-${tag}`]);
  for (const tag of ['pulled', 'never', 'oldpull']) await ageTag(STALE, tag, 30);
  await pulled(STALE, 'pulled', 1);
  await pulled(STALE, 'oldpull', 10);
  await ok(base, 'PUT', `/repos/${STALE}/retention`, {
    auth: users.olga,
    body: { deleteNotPulledForDays: 7 },
  });
  // pia/untagged: the namespace says keep 1 tag and drop untagged manifests after 3 days; the
  // repository overrides keepLatest only.
  m.old = await pushUntagged(reg.pia, UNTAGGED, 'old-untagged');
  m.fresh = await pushUntagged(reg.pia, UNTAGGED, 'fresh-untagged');
  m.subject = await pushUntagged(reg.pia, UNTAGGED, 'subject-goes');
  m.referrer = await pushUntagged(reg.pia, UNTAGGED, 'referrer-goes', m.subject);
  m.kept = (await reg.pia.pushImage(UNTAGGED, 'kept', ['subject-stays'])).digest;
  m.keptReferrer = await pushUntagged(reg.pia, UNTAGGED, 'referrer-stays', m.kept);
  m.history = (await reg.pia.pushImage(UNTAGGED, 'was', ['history-keeps'])).digest;
  await ok(base, 'DELETE', `/repos/${UNTAGGED}/tags/was`, { auth: users.pia, expect: 204 });
  await reg.pia.pushImage(UNTAGGED, 'second', ['second-tag']);
  for (const d of [m.old, m.subject, m.referrer, m.kept, m.keptReferrer, m.history])
    await ageManifest(UNTAGGED, d, 10);
  await ok(base, 'PUT', `/namespaces/pia/retention`, {
    auth: users.pia,
    body: { keepLatest: 1, deleteUntaggedAfterDays: 3 },
  });
  await ok(base, 'PUT', `/repos/${UNTAGGED}/retention`, {
    auth: users.pia,
    body: { keepLatest: 10 },
  });
}, 60_000);

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

describe('retention policies', () => {
  it('validates, checks who may set them, and combines namespace and repository', async () => {
    for (const body of [
      { keepLatest: -1 },
      { keepLatest: 'x' },
      { deleteUntaggedAfterDays: 0 },
      { keepPattern: ['bad pattern'] },
    ])
      expect(
        (await api(base, 'PUT', `/repos/${STALE}/retention`, { auth: users.olga, body })).status,
      ).toBe(400);
    expect(
      (await api(base, 'PUT', `/namespaces/pia/retention`, { auth: users.olga, body: {} })).status,
    ).toBe(404);
    expect(
      (await api(base, 'PUT', `/repos/${UNTAGGED}/retention`, { auth: users.olga, body: {} }))
        .status,
    ).not.toBe(200);
    expect(await ok(base, 'GET', `/namespaces/pia/retention`, { auth: users.pia })).toEqual({
      keepLatest: 1,
      keepPattern: null,
      deleteNotPulledForDays: null,
      deleteUntaggedAfterDays: 3,
    });
    const r = await ok(base, 'GET', `/repos/${UNTAGGED}/retention`, { auth: users.pia });
    expect(r.policy.keepLatest).toBe(10);
    expect(r.policy.deleteUntaggedAfterDays).toBeNull();
    expect(r.effective).toEqual({
      keepLatest: 10,
      keepPattern: null,
      deleteNotPulledForDays: null,
      deleteUntaggedAfterDays: 3,
    });
  });

  it('preview and dry run say what would go and delete nothing', async () => {
    const before = {
      latest: await tags(LATEST),
      stale: await tags(STALE),
      untagged: await manifests(UNTAGGED),
    };
    const latest = await ok(base, 'POST', `/repos/${LATEST}/retention/preview`, {
      auth: users.olga,
      expect: 200,
    });
    expect(latest.tags.map((t: Json) => t.name)).toEqual(['a', 'b']);
    expect(latest.manifests).toEqual([]);
    const stale = await ok(base, 'POST', `/repos/${STALE}/retention/preview`, {
      auth: users.olga,
      expect: 200,
    });
    expect(stale.tags.map((t: Json) => t.name)).toEqual(['never', 'oldpull']);
    const untagged = await ok(base, 'POST', `/repos/${UNTAGGED}/retention/preview`, {
      auth: users.pia,
      expect: 200,
    });
    expect(untagged.tags).toEqual([]);
    expect(untagged.manifests).toEqual([m.old, m.referrer, m.subject].sort());
    const dry = await gcRun(true);
    expect(dry).toMatchObject({ dryRun: true, tagsDeleted: 4, manifestsDeleted: 3 });
    expect(await tags(LATEST)).toEqual(before.latest);
    expect(await tags(STALE)).toEqual(before.stale);
    expect(await manifests(UNTAGGED)).toEqual(before.untagged);
  });

  it('a GC run applies retention; later runs collect the bytes', async () => {
    const run = await gcRun(false);
    expect(run).toMatchObject({ dryRun: false, tagsDeleted: 4, manifestsDeleted: 3 });
    expect(await tags(LATEST)).toEqual(['c', 'd', 'frozen', 'keep-x']);
    expect(await tags(STALE)).toEqual(['fresh', 'pulled']);
    expect(await tags(UNTAGGED)).toEqual(['kept', 'second']);
    const left = await manifests(UNTAGGED);
    for (const d of [m.old, m.subject, m.referrer]) expect(left.has(d)).toBe(false);
    for (const d of [m.fresh, m.kept, m.keptReferrer, m.history]) expect(left.has(d)).toBe(true);
    // The deleted tags' manifests stay (nothing asks to delete untagged manifests there).
    expect((await manifests(LATEST)).has(m['latest:a'])).toBe(true);
    // Deleted through the ordinary path: tag history with the system actor.
    const [h] = (await ok(base, 'GET', `/repos/${LATEST}/tags/a/history`, { auth: users.olga }))
      .items;
    expect(h).toMatchObject({ action: 'deleted', actor: { kind: 'system' } });
    // A second run has nothing left to do.
    expect(await gcRun(false)).toMatchObject({ tagsDeleted: 0, manifestsDeleted: 0 });
    // The deleted manifests' layers are collected (grace period of a second); the rest stays.
    const goneLayer = blobFile(sha256('old-untagged'));
    expect(existsSync(goneLayer)).toBe(true);
    await waitFor(
      'the untagged layers to be collected',
      async () => {
        await gcRun(false);
        return ['old-untagged', 'subject-goes', 'referrer-goes'].every(
          (l) => !existsSync(blobFile(sha256(l))),
        );
      },
      15_000,
    );
    for (const l of ['fresh-untagged', 'referrer-stays', 'history-keeps', 'latest-layer-a'])
      expect(existsSync(blobFile(sha256(l)))).toBe(true);
  });

  it('PUT {} clears a policy', async () => {
    await ok(base, 'PUT', `/repos/${STALE}/retention`, { auth: users.olga, body: {} });
    const r = await ok(base, 'GET', `/repos/${STALE}/retention`, { auth: users.olga });
    expect(r.policy).toEqual({
      keepLatest: null,
      keepPattern: null,
      deleteNotPulledForDays: null,
      deleteUntaggedAfterDays: null,
    });
  });
});
