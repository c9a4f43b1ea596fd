// Service tier: the blob lifecycle's locks (see src/registry/blobs.service.ts), with races made
// deterministic by pausing a write at a TestHooks point while a competing transaction runs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import type { Actor } from '../../src/common/actor.js';
import { TestHooks } from '../../src/common/test-hooks.js';
import { BlobsService } from '../../src/registry/blobs.service.js';
import { RegistryError } from '../../src/registry/errors.js';
import { ManifestsService, type RepoRef } from '../../src/registry/manifests.service.js';
import { UploadsService } from '../../src/registry/uploads.service.js';
import { ReposService } from '../../src/repos/repos.service.js';
import { gate, type Services, startServices, waitsForLock } from './support.js';

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
let hooks: TestHooks;
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

async function stateOf(digest: string): Promise<string | undefined> {
  const { rows } = await s.db.query<{ state: string }>(
    `SELECT state FROM blobs WHERE digest = $1`,
    [digest],
  );
  return rows[0]?.state;
}

/** A competing transaction on its own connection (as the collector will run). */
async function competitor(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: s.databaseUrl });
  await c.connect();
  await c.query('BEGIN');
  return c;
}

beforeAll(async () => {
  s = await startServices();
  blobs = s.get(BlobsService);
  manifests = s.get(ManifestsService);
  uploads = s.get(UploadsService);
  hooks = s.get(TestHooks);
  a = await repo('alice/a');
  b = await repo('alice/b');
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('locks of the check-then-act reads', () => {
  it("a mount holds the source's blob row: the collector's FOR UPDATE waits, then sees the new link", async () => {
    const digest = await pushBlob(a, 'mounted layer');
    const g = gate();
    const stop = hooks.set('blobs.mount.locked', g.wait);
    const mounting = blobs.mount(b, a.id, digest, actor);
    await g.entered;
    const collector = await competitor();
    let done = false;
    const locking = collector
      .query(`SELECT state FROM blobs WHERE digest = $1 FOR UPDATE`, [digest])
      .finally(() => (done = true));
    try {
      expect(await waitsForLock(s.db, () => done)).toBe(true);
    } finally {
      g.open();
      stop();
    }
    expect(await mounting).toBe(true);
    await locking;
    // Under its lock the collector re-checks the root set: the mount's link is there.
    const { rows } = await collector.query<{ n: string }>(
      `SELECT count(*) AS n FROM repository_blobs WHERE digest = $1`,
      [digest],
    );
    expect(Number(rows[0].n)).toBe(2);
    await collector.query('ROLLBACK');
    await collector.end();
  });

  it('a manifest put holds the links it checked: an unlink of one waits until the manifest committed', async () => {
    const config = '{"config":"put-vs-unlink"}';
    const layer = 'layer put-vs-unlink';
    await pushBlob(a, config);
    await pushBlob(a, layer);
    const g = gate();
    const stop = hooks.set('manifests.put.checked', g.wait);
    const bytes = imageManifest(config, [layer]);
    const putting = manifests.put(a, 'v1', bytes, undefined, [], actor);
    await g.entered;
    let done = false;
    const unlinking = blobs.unlink(a, sha256(layer), actor).finally(() => (done = true));
    try {
      expect(await waitsForLock(s.db, () => done)).toBe(true);
    } finally {
      g.open();
      stop();
    }
    await putting;
    await unlinking;
    // The manifest committed first, so the layer stays in the root set through its reference.
    const { rows } = await s.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
        WHERE m.repository_id = $1 AND r.child_digest = $2`,
      [a.id, sha256(layer)],
    );
    expect(Number(rows[0].n)).toBe(1);
  });
});

describe('states', () => {
  it('touching a candidate revives it (manifest put, mount, upload of the same bytes)', async () => {
    const config = '{"config":"candidate"}';
    const layer = 'layer candidate';
    const c = await pushBlob(a, config);
    const l = await pushBlob(a, layer);
    await s.db.query(`UPDATE blobs SET state = 'candidate' WHERE digest = ANY($1)`, [[c, l]]);
    await manifests.put(a, 'candidate', imageManifest(config, [layer]), undefined, [], actor);
    expect(await stateOf(c)).toBe('live');
    expect(await stateOf(l)).toBe('live');

    await s.db.query(`UPDATE blobs SET state = 'candidate' WHERE digest = $1`, [l]);
    expect(await blobs.mount(b, a.id, l, actor)).toBe(true);
    expect(await stateOf(l)).toBe('live');

    await s.db.query(`UPDATE blobs SET state = 'candidate' WHERE digest = $1`, [l]);
    await pushBlob(b, layer);
    expect(await stateOf(l)).toBe('live');
  });

  it('a deleting blob reads as absent, and its bytes cannot be pushed again until it is gone', async () => {
    const config = '{"config":"deleting"}';
    const layer = 'layer deleting';
    await pushBlob(a, config);
    const l = await pushBlob(a, layer);
    await s.db.query(`UPDATE blobs SET state = 'deleting' WHERE digest = $1`, [l]);
    expect(await blobs.sizeInRepository(a.id, l)).toBeNull();
    await expect(
      manifests.put(a, 'deleting', imageManifest(config, [layer]), undefined, [], actor),
    ).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
    expect(await blobs.mount(b, a.id, l, actor)).toBe(false);
    const err = await pushBlob(b, layer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
  });
});
