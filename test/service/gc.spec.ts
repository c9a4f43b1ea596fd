// Service tier: the races online garbage collection must win (see src/gc/gc.service.ts), made
// deterministic by pausing a run or a write at a TestHooks point.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CacheKeys } from '../../src/cache/cache-keys.js';
import { CacheService } from '../../src/cache/cache.service.js';
import type { Actor } from '../../src/common/actor.js';
import { TestHooks } from '../../src/common/test-hooks.js';
import { GcService } from '../../src/gc/gc.service.js';
import { BlobsData } from '../../src/registry/blobs.data.js';
import { BlobsService } from '../../src/registry/blobs.service.js';
import { ManifestsService, type RepoRef } from '../../src/registry/manifests.service.js';
import { UploadsService } from '../../src/registry/uploads.service.js';
import { ReposService } from '../../src/repos/repos.service.js';
import { STORAGE_DRIVER, type StorageDriver } from '../../src/storage/storage-driver.js';
import { gate, type Services, startServices } from './support.js';

const actor: Actor = {
  principal: { kind: 'system', name: 'service-test' },
  credential: 'system',
  requestId: 'service-test',
};

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let s: Services;
let blobs: BlobsService;
let manifests: ManifestsService;
let uploads: UploadsService;
let gc: GcService;
let hooks: TestHooks;
let storage: StorageDriver;
let a: RepoRef;
let b: RepoRef;

async function repo(name: string): Promise<RepoRef> {
  const r = await s.get(ReposService).findOrCreate(name, actor);
  return { id: r.id, name: r.name };
}

async function pushBlob(into: RepoRef, content: string): Promise<string> {
  const digest = sha256(content);
  const { id } = await uploads.start(into.id, 'sha256', actor);
  await uploads.complete(into, id, digest, Readable.from([Buffer.from(content)]), {}, actor);
  return digest;
}

function imageManifest(config: string, layers: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: Buffer.byteLength(config),
      },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: sha256(l),
        size: Buffer.byteLength(l),
      })),
    }),
  );
}

/** Makes the links to these blobs look unused for two hours (the grace period is one). */
async function ageLinks(digests: string[]): Promise<void> {
  await s.db.query(
    `UPDATE repository_blobs SET touched_at = now() - interval '2 hours' WHERE digest = ANY($1)`,
    [digests],
  );
}

async function linked(into: RepoRef, digest: string): Promise<boolean> {
  const { rows } = await s.db.query(
    `SELECT 1 FROM repository_blobs WHERE repository_id = $1 AND digest = $2`,
    [into.id, digest],
  );
  return rows.length > 0;
}

const collect = () => gc.run({ dryRun: false, trigger: 'api', actor });

beforeAll(async () => {
  s = await startServices({ GC_GRACE_SECONDS: '3600' });
  blobs = s.get(BlobsService);
  manifests = s.get(ManifestsService);
  uploads = s.get(UploadsService);
  gc = s.get(GcService);
  hooks = s.get(TestHooks);
  storage = s.app.get(STORAGE_DRIVER);
  a = await repo('gc/a');
  b = await repo('gc/b');
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('garbage collection racing writes', () => {
  it('HEAD then skip: a HEAD marks the link as relied on, so the manifest after it finds its blobs', async () => {
    const config = '{"config":"head-then-skip"}';
    const [headed, ignored] = ['layer headed', 'layer nobody asked for'];
    await pushBlob(a, config);
    await pushBlob(a, headed);
    await pushBlob(a, ignored);
    await ageLinks([sha256(config), sha256(headed), sha256(ignored)]);
    // The client checks config and one layer (and would skip uploading them), then GC runs.
    await blobs.requireInRepository(a.id, sha256(config));
    await blobs.requireInRepository(a.id, sha256(headed));
    const run = await collect();
    expect(run.errors).toEqual([]);
    expect(await linked(a, sha256(headed))).toBe(true);
    await manifests.put(a, 'headed', imageManifest(config, [headed]), undefined, [], actor);
    // The link nobody relied on went (and a manifest naming it is refused, never half-stored).
    expect(await linked(a, sha256(ignored))).toBe(false);
    await expect(
      manifests.put(a, 'ignored', imageManifest(config, [ignored]), undefined, [], actor),
    ).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
  });

  it('a manifest committed after a run listed its dangling links (before it locked them) keeps them', async () => {
    const config = '{"config":"listed"}';
    const layer = 'layer listed';
    await pushBlob(b, config);
    await pushBlob(b, layer);
    await ageLinks([sha256(config), sha256(layer)]);
    const g = gate();
    const stop = hooks.set('gc.links.listed', g.wait);
    const running = collect();
    try {
      await g.entered;
      await manifests.put(b, 'v1', imageManifest(config, [layer]), undefined, [], actor);
    } finally {
      stop();
      g.open();
    }
    const run = await running;
    expect(run.errors).toEqual([]);
    expect(await linked(b, sha256(layer))).toBe(true);
    expect(await linked(b, sha256(config))).toBe(true);
    expect(await blobs.requireInRepository(b.id, sha256(layer))).toBe(Buffer.byteLength(layer));
  });

  it('an upload that found the blob recorded while a run deleted it stores its own copy', async () => {
    const content = 'layer re-pushed while its delete is in flight';
    const digest = await pushBlob(b, content);
    await blobs.unlink(b, digest, actor);
    await s.db.query(
      `UPDATE blobs SET state = 'candidate', state_since = now() - interval '2 hours' WHERE digest = $1`,
      [digest],
    );
    // The run holds the blob `deleting`, not yet committed; the upload reads it as a candidate.
    const doomed = gate();
    const stopGc = hooks.set('gc.blobs.doomed', doomed.wait);
    const running = collect();
    await doomed.entered;
    const checked = gate();
    const stopUpload = hooks.set('uploads.publish.checked', checked.wait);
    const uploading = pushBlob(a, content);
    await checked.entered;
    stopGc();
    doomed.open();
    const run = await running;
    expect(run.errors).toEqual([]);
    expect(run.blobsDeleted).toBeGreaterThanOrEqual(1);
    expect(await storage.statBlob(digest)).toBeNull();
    stopUpload();
    checked.open();
    await uploading;
    // Recorded again only with its bytes.
    expect(await storage.statBlob(digest)).toEqual({ size: Buffer.byteLength(content) });
    const { rows } = await s.db.query<{ state: string }>(
      `SELECT state FROM blobs WHERE digest = $1`,
      [digest],
    );
    expect(rows).toEqual([{ state: 'live' }]);
    const chunks: Buffer[] = [];
    for await (const c of await blobs.open(digest)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(content);
  });

  it('a storage failure fails closed: the blob stays deleting (absent), the next run finishes it', async () => {
    const content = 'layer whose delete fails once';
    const digest = await pushBlob(b, content);
    await blobs.unlink(b, digest, actor);
    await s.db.query(
      `UPDATE blobs SET state = 'candidate', state_since = now() - interval '2 hours' WHERE digest = $1`,
      [digest],
    );
    const deleteBlob = storage.deleteBlob.bind(storage);
    storage.deleteBlob = () => Promise.reject(new Error('store unreachable'));
    let failed;
    try {
      failed = await collect();
    } finally {
      storage.deleteBlob = deleteBlob;
    }
    expect(failed.errors).toEqual([expect.stringContaining('store unreachable')]);
    expect(await storage.statBlob(digest)).toEqual({ size: Buffer.byteLength(content) });
    const { rows } = await s.db.query<{ state: string }>(
      `SELECT state FROM blobs WHERE digest = $1`,
      [digest],
    );
    expect(rows).toEqual([{ state: 'deleting' }]);
    expect(await blobs.sizeInRepository(b.id, digest)).toBeNull();
    const done = await collect();
    expect(done.errors).toEqual([]);
    expect(await storage.statBlob(digest)).toBeNull();
    const gone = await s.db.query(`SELECT 1 FROM blobs WHERE digest = $1`, [digest]);
    expect(gone.rows).toEqual([]);
    // Each run and each deleted blob left its event in the outbox.
    const events = await s.db.query<{ name: string; payload: { digest?: string } }>(
      `SELECT event AS name, payload FROM outbox WHERE event IN ('gc.completed', 'blob.deleted') ORDER BY id`,
    );
    expect(events.rows.filter((e) => e.name === 'gc.completed').length).toBeGreaterThanOrEqual(2);
    expect(events.rows).toContainEqual(
      expect.objectContaining({
        name: 'blob.deleted',
        payload: expect.objectContaining({ digest }),
      }),
    );
  });
});

describe("HEAD answered from this node's touch lease (no database round trip)", () => {
  // GC_GRACE_SECONDS=3600: a touch writes when the link's mark is older than W = 900 s; a node
  // skips its touch for L = 855 s after its own. Time passing is simulated on both sides: the
  // node's lease clock is moved forward, and the link's mark moved back by as much (what the
  // collector compares it with is the database's now()).
  const W = 900;
  const L = 855;
  let clock = 1e9;
  let touches = 0;
  let restore: () => void;

  beforeAll(() => {
    const data = s.get(BlobsData);
    const touch = data.touch.bind(data);
    data.touch = (...args: Parameters<BlobsData['touch']>) => {
      touches++;
      return touch(...args);
    };
    const saved = blobs.leases.clock;
    blobs.leases.clock = () => clock;
    restore = () => {
      data.touch = touch;
      blobs.leases.clock = saved;
    };
  });

  afterAll(() => restore());

  /** Seconds since the link was marked as relied on. */
  async function markAge(into: RepoRef, digest: string): Promise<number> {
    const { rows } = await s.db.query<{ age: number }>(
      `SELECT extract(epoch FROM now() - touched_at)::float8 AS age FROM repository_blobs
        WHERE repository_id = $1 AND digest = $2`,
      [into.id, digest],
    );
    return rows[0].age;
  }

  /** `seconds` pass: for the node's lease clock and for the link's mark. */
  async function elapse(into: RepoRef, digest: string, seconds: number): Promise<void> {
    clock += seconds * 1000;
    await s.db.query(
      `UPDATE repository_blobs SET touched_at = touched_at - make_interval(secs => $3)
        WHERE repository_id = $1 AND digest = $2`,
      [into.id, digest, seconds],
    );
  }

  it('keeps the link at least half a grace period after the HEAD, in the worst case', async () => {
    const c = await repo('gc/lease');
    const layer = 'layer under a lease';
    const digest = await pushBlob(c, layer);
    // Worst case: another node marked the link just under W ago, so this node's touch writes
    // nothing, and the lease it takes counts from there.
    await s.db.query(
      `UPDATE repository_blobs SET touched_at = now() - make_interval(secs => $3)
        WHERE repository_id = $1 AND digest = $2`,
      [c.id, digest, W - 1],
    );
    const before = touches;
    expect(await blobs.requireInRepository(c.id, digest)).toBe(Buffer.byteLength(layer));
    expect(touches).toBe(before + 1);
    expect(await markAge(c, digest)).toBeGreaterThan(W - 2);

    // Just before the lease ends: answered without a touch (the mark stays where it was).
    await elapse(c, digest, L - 1);
    expect(await blobs.requireInRepository(c.id, digest)).toBe(Buffer.byteLength(layer));
    expect(touches).toBe(before + 1);
    expect(await markAge(c, digest)).toBeGreaterThan(W + L - 3);

    // Half a grace period after that HEAD a run still keeps the link (HEAD then skip)…
    await elapse(c, digest, 1800);
    const kept = await collect();
    expect(kept.errors).toEqual([]);
    expect(await linked(c, digest)).toBe(true);
    // …and removes it once nobody relied on it for the grace period: nothing touched it meanwhile.
    await elapse(c, digest, 3600 - (W - 1) - (L - 1) - 1800 + 5);
    const removed = await collect();
    expect(removed.errors).toEqual([]);
    expect(await linked(c, digest)).toBe(false);
    // The removal invalidated the cached size, and the next HEAD (its lease long over) finds
    // nothing.
    const cache = s.get(CacheService);
    const key = s.get(CacheKeys).blobLink(c.id, digest);
    expect(await cache.getOrLoad(key, () => Promise.resolve(-1))).toBe(-1);
    await expect(blobs.requireInRepository(c.id, digest)).rejects.toMatchObject({
      code: 'BLOB_UNKNOWN',
    });
  });

  it('touches again once the lease has ended', async () => {
    const c = await repo('gc/lease-ends');
    const layer = 'layer whose lease ends';
    const digest = await pushBlob(c, layer);
    await ageLinks([digest]);
    const before = touches;
    await blobs.requireInRepository(c.id, digest);
    expect(touches).toBe(before + 1);
    expect(await markAge(c, digest)).toBeLessThan(60);
    await elapse(c, digest, L - 1);
    await blobs.requireInRepository(c.id, digest);
    expect(touches).toBe(before + 1);
    await elapse(c, digest, 2);
    await blobs.requireInRepository(c.id, digest);
    expect(touches).toBe(before + 2);
    // The mark was younger than W: that touch wrote nothing, yet it is a new lease.
    expect(await markAge(c, digest)).toBeGreaterThan(L);
    await elapse(c, digest, W);
    await blobs.requireInRepository(c.id, digest);
    expect(touches).toBe(before + 3);
    expect(await markAge(c, digest)).toBeLessThan(60);
  });

  it('an unlinked blob is answered as unknown at once, lease or not', async () => {
    const c = await repo('gc/lease-unlinked');
    const digest = await pushBlob(c, 'layer unlinked under a lease');
    await blobs.requireInRepository(c.id, digest);
    await blobs.requireInRepository(c.id, digest);
    await blobs.unlink(c, digest, actor);
    await expect(blobs.requireInRepository(c.id, digest)).rejects.toMatchObject({
      code: 'BLOB_UNKNOWN',
    });
  });
});
