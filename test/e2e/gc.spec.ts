import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import {
  adminApiKey,
  basicHeader,
  randomBytesSeeded,
  RegistryClient,
  sha256,
  TEST_ADMIN,
  waitFor,
} from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { s3ServerAvailable, startS3TestServer, type S3TestServer } from '../support/swift.js';

/**
 * Online garbage collection (src/gc/gc.service.ts): what it deletes from the database and the
 * store, the administrator API, and the race test: pushes, tag moves and deletes on 8 clients
 * while runs follow each other with a 1-second grace period, on the filesystem and on S3.
 */

interface GcRun {
  id: string;
  dryRun: boolean;
  linksDeleted: number;
  blobsQueued: number;
  blobsDeleted: number;
  bytesDeleted: number;
  uploadsDeleted: number;
  manifestsDeleted: number;
  errors: string[];
  startedAt: string;
  finishedAt: string | null;
}

const ADMIN = { authorization: basicHeader(TEST_ADMIN.username, TEST_ADMIN.password) };

async function gc(
  server: TestServer,
  dryRun: boolean,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${server.url}/api/v1/admin/gc`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ dryRun }),
  });
}

async function runGc(server: TestServer, key: string, dryRun = false): Promise<GcRun> {
  const res = await gc(server, dryRun, { 'x-api-key': key });
  if (res.status !== 200) throw new Error(`gc: ${res.status} ${await res.text()}`);
  return (await res.json()) as GcRun;
}

/** Digests of the blob files under the filesystem driver's root. */
function filesystemBlobs(server: TestServer): Set<string> {
  const root = join(server.dataDir, 'storage', 'blobs');
  const out = new Set<string>();
  if (!existsSync(root)) return out;
  for (const alg of readdirSync(root))
    for (const prefix of readdirSync(join(root, alg)))
      for (const hex of readdirSync(join(root, alg, prefix))) out.add(`${alg}:${hex}`);
  return out;
}

/** Digests of the blob objects in the bucket. */
async function s3Blobs(s3: S3TestServer): Promise<Set<string>> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
  });
  const out = new Set<string>();
  let token: string | undefined;
  try {
    for (;;) {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'blobs/', ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const [, alg, , hex] = o.Key!.split('/');
        out.add(`${alg}:${hex}`);
      }
      if (!page.IsTruncated) break;
      token = page.NextContinuationToken;
    }
  } finally {
    client.destroy();
  }
  return out;
}

/** What the database says about these blobs (for a failure's message). */
async function explain(server: TestServer, digests: string[]): Promise<unknown[]> {
  if (!digests.length) return [];
  const db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  try {
    const r = await db.query(
      `SELECT d.digest, b.state, b.state_since,
              (SELECT json_agg(json_build_object('repo', rb.repository_id, 'touched', rb.touched_at))
                 FROM repository_blobs rb WHERE rb.digest = d.digest) AS links,
              (SELECT count(*) FROM manifest_references r WHERE r.child_digest = d.digest) AS refs,
              (SELECT json_agg(u.id) FROM uploads u WHERE u.publishing_digest = d.digest) AS publishing,
              now() AS now
         FROM unnest($1::text[]) AS d(digest) LEFT JOIN blobs b ON b.digest = d.digest`,
      [digests],
    );
    return r.rows;
  } finally {
    await db.end();
  }
}

async function dbBlobs(server: TestServer): Promise<Set<string>> {
  const db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  try {
    const r = await db.query<{ digest: string }>(`SELECT digest FROM blobs`);
    return new Set(r.rows.map((x) => x.digest));
  } finally {
    await db.end();
  }
}

function diff(a: Set<string>, b: Set<string>): { extra: string[]; missing: string[] } {
  return { extra: [...a].filter((x) => !b.has(x)), missing: [...b].filter((x) => !a.has(x)) };
}

/**
 * Runs GC until the store holds exactly `expected` (blobs wait out their grace period over two
 * runs); returns what the store holds in the end, for the caller's assertion.
 */
async function collectUntil(
  server: TestServer,
  key: string,
  stored: () => Promise<Set<string>>,
  expected: Set<string>,
  timeoutMs = 20_000,
): Promise<Set<string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    expect((await runGc(server, key)).errors).toEqual([]);
    const now = await stored();
    const d = diff(now, expected);
    if ((!d.extra.length && !d.missing.length) || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 300));
  }
}

// ---- images ----------------------------------------------------------------------------------

interface Blob {
  digest: string;
  data: Buffer;
}

function blobOf(data: Buffer | string): Blob {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { digest: sha256(buf), data: buf };
}

function manifestOf(config: Blob, layers: Blob[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: config.digest,
      size: config.data.length,
    },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: l.digest,
      size: l.data.length,
    })),
  });
}

class PushFailed extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Pushes like a client does: HEAD each blob and skip the upload when it is there (optionally
 * trying a cross-repository mount first), then PUT the manifest. 503 answers (a blob being
 * collected) are retried; a manifest refused because a blob went is reported to the caller.
 */
async function push(
  c: RegistryClient,
  repo: string,
  tag: string,
  blobs: Blob[],
  manifest: string,
  mountFrom?: string,
): Promise<{ retries503: number }> {
  let retries503 = 0;
  const began = Date.now();
  // The blobs of one image go up in parallel, as clients push layers.
  const pushBlob = async (b: Blob) => {
    for (let attempt = 0; ; attempt++) {
      const head = await c.fetch(`/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
      // (With S3 redirects on, a blob that is there answers 307 to its storage URL.)
      if (head.status === 200 || head.status === 307) break;
      let res: Response;
      if (mountFrom) {
        res = await c.fetch(`/v2/${repo}/blobs/uploads/?mount=${b.digest}&from=${mountFrom}`, {
          method: 'POST',
        });
        if (res.status === 202) {
          const loc = res.headers.get('location')!;
          res = await c.fetch(`${loc}${loc.includes('?') ? '&' : '?'}digest=${b.digest}`, {
            method: 'PUT',
            body: b.data,
            headers: { 'content-type': 'application/octet-stream' },
          });
        }
      } else {
        res = await c.fetch(`/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
          method: 'POST',
          body: b.data,
          headers: { 'content-type': 'application/octet-stream' },
        });
      }
      await res.arrayBuffer();
      if (res.status === 201) break;
      if (res.status === 503 && attempt < 20) {
        retries503++;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      throw new PushFailed(res.status, `blob ${b.digest} into ${repo}: ${res.status}`);
    }
  };
  await Promise.all(blobs.map(pushBlob));
  const res = await c.putManifest(repo, tag, manifest);
  const text = await res.text();
  if (res.status !== 201)
    throw new PushFailed(
      res.status,
      `manifest ${repo}:${tag} (${Date.now() - began} ms after the first blob): ${text}`,
    );
  return { retries503 };
}

/** Seeded pseudo-random numbers, so that a failing run can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

interface LiveManifest {
  repo: string;
  digest: string;
  blobs: Blob[];
}

/**
 * The race: 8 pushers (shared layers, same and different repositories, tag moves, manifest and
 * tag deletes) while GC runs back to back; then every tag pulls right and a final GC leaves the
 * store holding exactly the blobs of the manifests that remain.
 */
async function raceTest(
  server: TestServer,
  stored: () => Promise<Set<string>>,
  prefix: string,
  rounds: number,
): Promise<void> {
  const key = await adminApiKey(server.url);
  const c = new RegistryClient(server.url, { 'x-api-key': key });
  const shared = Array.from({ length: 10 }, (_, i) => blobOf(randomBytesSeeded(4096 + i, 900 + i)));
  const live = new Map<string, LiveManifest>();
  const stats = { pushes: 0, refused: 0, retries503: 0, deletes: 0, tagDeletes: 0, gcRuns: 0 };
  const sharedRepos = [`${prefix}/shared-a`, `${prefix}/shared-b`];
  // What earlier tests left (settled: their blobs are live).
  const baseline = await stored();

  let pushing = true;
  const collector = (async () => {
    while (pushing) {
      const run = await runGc(server, key);
      expect(run.errors).toEqual([]);
      stats.gcRuns++;
    }
  })();

  const worker = async (w: number) => {
    const rand = rng(w + 1);
    const mine: LiveManifest[] = [];
    for (let i = 0; i < rounds; i++) {
      const repo = rand() < 0.5 ? sharedRepos[Math.floor(rand() * 2)] : `${prefix}/own-${w}`;
      const tag = `t${Math.floor(rand() * 3)}`;
      const config = blobOf(JSON.stringify({ architecture: 'amd64', os: 'linux', w, i, prefix }));
      const layers = [
        shared[Math.floor(rand() * shared.length)],
        shared[Math.floor(rand() * shared.length)],
        blobOf(randomBytesSeeded(2048 + i, 1000 * (w + 1) + i)),
      ].filter((l, k, all) => all.findIndex((x) => x.digest === l.digest) === k);
      const manifest = manifestOf(config, layers);
      const mountFrom = rand() < 0.3 ? sharedRepos[0] : undefined;
      for (let attempt = 0; ; attempt++) {
        try {
          stats.retries503 += (
            await push(c, repo, tag, [config, ...layers], manifest, mountFrom)
          ).retries503;
          break;
        } catch (e) {
          // A blob uploaded more than a grace period before its manifest may be collected: the
          // registry refuses the manifest (it never accepts one whose blobs are gone); push again.
          if (!(e instanceof PushFailed) || e.status !== 400 || attempt >= 5) throw e;
          stats.refused++;
        }
      }
      stats.pushes++;
      const entry = { repo, digest: sha256(manifest), blobs: [config, ...layers] };
      live.set(`${repo}@${entry.digest}`, entry);
      mine.push(entry);
      const r = rand();
      if (r < 0.3 && mine.length > 1) {
        // Delete one of our earlier manifests (and the tags on it) by digest.
        const [gone] = mine.splice(Math.floor(rand() * (mine.length - 1)), 1);
        const res = await c.fetch(`/v2/${gone.repo}/manifests/${gone.digest}`, {
          method: 'DELETE',
        });
        expect(res.status).toBe(202);
        live.delete(`${gone.repo}@${gone.digest}`);
        stats.deletes++;
      } else if (r < 0.45) {
        const res = await c.fetch(`/v2/${repo}/manifests/t${Math.floor(rand() * 3)}`, {
          method: 'DELETE',
        });
        expect([202, 404]).toContain(res.status);
        stats.tagDeletes++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  } finally {
    pushing = false;
    await collector;
  }

  // Every tag that exists pulls, with every digest right.
  const repos = new Set([...live.values()].map((m) => m.repo));
  let tagsChecked = 0;
  const verifyTags = async () => {
    for (const repo of [
      ...sharedRepos,
      ...Array.from({ length: 8 }, (_, w) => `${prefix}/own-${w}`),
    ]) {
      const list = await c.fetch(`/v2/${repo}/tags/list`);
      if (list.status === 404) continue;
      const { tags } = (await list.json()) as { tags: string[] };
      for (const tag of tags) {
        const res = await c.fetch(`/v2/${repo}/manifests/${tag}`);
        expect(res.status).toBe(200);
        const body = Buffer.from(await res.arrayBuffer());
        expect(sha256(body)).toBe(res.headers.get('docker-content-digest'));
        const m = JSON.parse(body.toString()) as {
          config: { digest: string; size: number };
          layers: { digest: string; size: number }[];
        };
        for (const d of [m.config, ...m.layers]) {
          let blob = await c.fetch(`/v2/${repo}/blobs/${d.digest}`);
          if (blob.status === 307) blob = await fetch(blob.headers.get('location')!);
          expect(blob.status).toBe(200);
          const data = Buffer.from(await blob.arrayBuffer());
          expect(data.length).toBe(d.size);
          expect(sha256(data)).toBe(d.digest);
        }
        tagsChecked++;
      }
    }
  };
  await verifyTags();

  // A final GC leaves exactly the blobs of the manifests that remain (untagged ones included).
  const expected = new Set([
    ...baseline,
    ...[...live.values()].flatMap((m) => m.blobs.map((b) => b.digest)),
  ]);
  const left = await collectUntil(server, key, stored, expected, 40_000);
  const d = diff(left, expected);
  expect({ ...d, db: await explain(server, [...d.extra, ...d.missing]) }).toEqual({
    extra: [],
    missing: [],
    db: [],
  });
  expect(diff(await dbBlobs(server), expected)).toEqual({ extra: [], missing: [] });
  // And everything still pulls after it.
  tagsChecked = 0;
  await verifyTags();
  for (const m of live.values()) {
    const res = await c.fetch(`/v2/${m.repo}/manifests/${m.digest}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
  }
  expect(tagsChecked).toBeGreaterThan(0);
  expect(repos.size).toBeGreaterThan(2);
  console.log(
    `GC race (${prefix}): ${stats.pushes} pushes, ${stats.deletes} manifest and ${stats.tagDeletes} tag deletes, ` +
      `${stats.gcRuns} GC runs, ${stats.refused} manifests refused and pushed again, ` +
      `${stats.retries503} uploads retried after 503, ${tagsChecked} tags verified, ${expected.size} live blobs`,
  );
}

// ---- suites ----------------------------------------------------------------------------------

const GC_ENV = { GC_GRACE_SECONDS: '1', GC_INTERVAL_SECONDS: '3600' };

describe('garbage collection on the filesystem driver', () => {
  let server: TestServer;
  let key: string;
  let c: RegistryClient;

  beforeAll(async () => {
    server = await startServer({ env: GC_ENV });
    key = await adminApiKey(server.url);
    c = new RegistryClient(server.url, { 'x-api-key': key });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('only system administrators may run it or read its reports', async () => {
    const made = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'gc-user', password: 'gc-user-password' }),
    });
    expect(made.status).toBe(201);
    const user = { authorization: basicHeader('gc-user', 'gc-user-password') };
    expect((await gc(server, true, user)).status).toBe(403);
    expect((await fetch(`${server.url}/api/v1/admin/gc`, { headers: user })).status).toBe(403);
    expect((await gc(server, true, {})).status).toBe(401);
    const bad = await fetch(`${server.url}/api/v1/admin/gc`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: 'maybe' }),
    });
    expect(bad.status).toBe(400);
  });

  it('a deleted repository: a dry run deletes nothing, a run deletes its bytes and keeps shared ones', async () => {
    const sharedLayer = randomBytesSeeded(50_000, 77);
    const own = [randomBytesSeeded(200_000, 78), randomBytesSeeded(300_000, 79)];
    await c.pushImage('gcdel/keep', 'v1', [sharedLayer]);
    await c.pushImage('gcdel/app', 'v1', [sharedLayer, ...own]);
    const ownDigests = own.map((l) => sha256(l));
    const before = filesystemBlobs(server);
    for (const d of [...ownDigests, sha256(sharedLayer)]) expect(before.has(d)).toBe(true);

    const del = await fetch(`${server.url}/api/v1/repos/gcdel/app`, {
      method: 'DELETE',
      headers: { 'x-api-key': key },
    });
    expect(del.status).toBe(204);

    // Dry runs report and delete nothing, even once the blobs are queued and their grace is over.
    const dry = await runGc(server, key, true);
    expect(dry.dryRun).toBe(true);
    expect(dry.blobsQueued).toBeGreaterThanOrEqual(2);
    expect(filesystemBlobs(server)).toEqual(before);
    const first = await runGc(server, key);
    expect(first.blobsQueued).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1100)); // the 1-second grace period
    const dryAfter = await runGc(server, key, true);
    expect(dryAfter.blobsDeleted).toBeGreaterThanOrEqual(2);
    expect(dryAfter.bytesDeleted).toBeGreaterThanOrEqual(500_000);
    expect(filesystemBlobs(server)).toEqual(before);

    const after = await collectUntil(
      server,
      key,
      async () => filesystemBlobs(server),
      new Set([...before].filter((d) => !ownDigests.includes(d))),
    );
    for (const d of ownDigests) expect(after.has(d)).toBe(false);
    // The layer (and the config) gcdel/keep shares stay.
    expect(after.has(sha256(sharedLayer))).toBe(true);
    expect(after.size).toBe(before.size - ownDigests.length);
    // The repository that shares a layer still pulls it.
    const pulled = await c.fetch(`/v2/gcdel/keep/blobs/${sha256(sharedLayer)}`);
    expect(sha256(Buffer.from(await pulled.arrayBuffer()))).toBe(sha256(sharedLayer));

    const runs = (await (
      await fetch(`${server.url}/api/v1/admin/gc`, { headers: { 'x-api-key': key } })
    ).json()) as { items: GcRun[] };
    expect(runs.items.length).toBeGreaterThanOrEqual(4);
    expect(runs.items.some((r) => r.dryRun)).toBe(true);
    const reclaimed = runs.items.filter((r) => !r.dryRun).reduce((s, r) => s + r.bytesDeleted, 0);
    expect(reclaimed).toBeGreaterThanOrEqual(500_000);
    expect(runs.items[0].finishedAt).not.toBeNull();
  });

  it('a deleted manifest: the links nothing references go after the grace period, then the bytes', async () => {
    const layer = randomBytesSeeded(100_000, 88);
    const img = await c.pushImage('gcdel/manifest', 'v1', [layer]);
    await c.pushImage('gcdel/manifest', 'v2', ['another layer']);
    const res = await c.fetch(`/v2/gcdel/manifest/manifests/${img.digest}`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    const before = filesystemBlobs(server);
    const after = await collectUntil(
      server,
      key,
      async () => filesystemBlobs(server),
      new Set([...before].filter((d) => d !== sha256(layer))),
    );
    expect(after.has(sha256(layer))).toBe(false);
    expect((await c.fetch(`/v2/gcdel/manifest/blobs/${sha256(layer)}`)).status).toBe(404);
    expect((await c.fetch('/v2/gcdel/manifest/manifests/v2')).status).toBe(200);
  });

  it('the race: 8 pushers while GC runs back to back leave every tag whole and only live blobs stored', async () => {
    await raceTest(server, async () => filesystemBlobs(server), 'racefs', 10);
  });
});

const s3Available = s3ServerAvailable();
if (!s3Available && process.env.CI === 'true')
  throw new Error('the Swift S3 test server is required in CI (see .ci/run)');

(s3Available ? describe : describe.skip)('garbage collection on S3', () => {
  let s3: S3TestServer;
  let server: TestServer;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    server = await startServer({
      env: {
        ...GC_ENV,
        // Every node's timer tries a run each second (taken only when no run started meanwhile).
        GC_INTERVAL_SECONDS: '1',
        STORAGE_DRIVER: 's3',
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_REGION: s3.region,
        S3_USE_PATH_STYLE: 'true',
        // Blobs are proxied: with redirects on, the grace period could not be shorter than the
        // presigned URLs' lifetime (and a URL valid for 1 s is too short for the checks below).
        S3_REDIRECT: 'false',
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
  });

  it('the race: 8 pushers while GC runs back to back leave every tag whole and only live objects stored', async () => {
    await raceTest(server, () => s3Blobs(s3), 'races3', 6);
  });

  it('the timer runs collections by itself, and they are reported', async () => {
    const key = await adminApiKey(server.url);
    await waitFor('a scheduled run', async () => {
      const res = await fetch(`${server.url}/api/v1/admin/gc?limit=5`, {
        headers: { 'x-api-key': key },
      });
      const { items } = (await res.json()) as { items: (GcRun & { trigger: string })[] };
      return items.some((r) => r.trigger === 'schedule' && r.finishedAt !== null);
    });
  });
});
