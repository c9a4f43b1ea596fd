import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FilesystemDriver } from '../../src/storage/filesystem.driver.js';
import { createS3Driver } from '../../src/storage/s3.driver.js';
import type { StorageDriver, UploadDriverState } from '../../src/storage/storage-driver.js';
import { tempDir } from '../support/server.js';
import { s3ServerAvailable, startS3TestServer, type S3TestServer } from '../support/swift.js';

/**
 * The contract every storage driver keeps (src/storage/storage-driver.ts), checked the same way
 * on each: the upload protocol with only JSON state between calls, interrupted and stale writes,
 * publishing, reading, listing and deleting blobs. A new driver is added to `DRIVERS`.
 */

const MiB = 1024 * 1024;

function digestOf(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function* chunks(...bufs: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of bufs) yield b;
}

async function* failingAfter(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
  throw new Error('client went away');
}

/** What PostgreSQL does to a state between two requests. */
const viaJson = (s: UploadDriverState): UploadDriverState => JSON.parse(JSON.stringify(s));

let ids = 0;
const newId = () =>
  `00000000-c0f0-4000-8000-${String(process.pid).padStart(6, '0')}${String(++ids).padStart(6, '0')}`;

const s3Available = s3ServerAvailable() || process.env.CI === 'true';
if (!s3Available)
  console.warn('Skipping the S3 conformance run: OpenStack Swift is not installed.');

interface DriverUnderTest {
  name: string;
  setup(): Promise<() => StorageDriver>;
  teardown(): Promise<void>;
  /** S3 parts are at least 5 MiB: sizes that make the driver use its real paths. */
  big: number;
}

let swift: S3TestServer | undefined;
const DRIVERS: DriverUnderTest[] = [
  {
    name: 'filesystem',
    big: 3 * MiB,
    async setup() {
      const root = tempDir('aerugo-fs-driver-');
      return () => new FilesystemDriver(root);
    },
    async teardown() {},
  },
  {
    // STORAGE_FSYNC=false: the same steps without fsync, so the same contract.
    name: 'filesystem without fsync',
    big: 3 * MiB,
    async setup() {
      const root = tempDir('aerugo-fs-driver-');
      return () => new FilesystemDriver(root, { fsync: false });
    },
    async teardown() {},
  },
  ...(s3Available
    ? [
        {
          name: 's3',
          big: 6 * MiB,
          async setup() {
            swift = await startS3TestServer({ bucket: 'aerugo-conformance' });
            const s = swift;
            return () =>
              createS3Driver({
                endpoint: s.endpoint,
                bucket: s.bucket,
                accessKey: s.accessKey,
                secretKey: s.secretKey,
                region: s.region,
                usePathStyle: true,
                redirect: false,
                presignExpirySeconds: 600,
              });
          },
          async teardown() {
            await swift?.stop();
          },
        },
      ]
    : []),
];

describe.each(DRIVERS)('storage driver conformance: $name', (d) => {
  // A new driver object for every call: only the JSON state carries over, as between nodes.
  let driver: () => StorageDriver;
  beforeAll(async () => {
    driver = await d.setup();
  });
  afterAll(async () => d.teardown());

  async function upload(
    ...parts: Buffer[]
  ): Promise<{ id: string; state: UploadDriverState; size: number }> {
    const id = newId();
    let state = viaJson(await driver().startUpload(id));
    let size = 0;
    for (const p of parts) {
      const r = await driver().writeUpload(id, state, size, chunks(p));
      expect(r.written).toBe(p.length);
      state = viaJson(r.state);
      size += p.length;
    }
    return { id, state, size };
  }

  it('carries an upload over several writes, reads it back and publishes it at its digest', async () => {
    const parts = [randomBytes(1000), randomBytes(d.big), randomBytes(12345)];
    const whole = Buffer.concat(parts);
    const { id, state, size } = await upload(...parts);
    expect(size).toBe(whole.length);
    expect((await collect(await driver().readUpload(id, state, size))).equals(whole)).toBe(true);
    const digest = digestOf(whole);
    await driver().commitUpload(id, state, digest, size);
    expect(await driver().statBlob(digest)).toEqual({ size: whole.length });
    expect((await collect(await driver().readBlob(digest))).equals(whole)).toBe(true);
    const range = await collect(await driver().readBlob(digest, { start: 10, end: 1009 }));
    expect(range.equals(whole.subarray(10, 1010))).toBe(true);
    expect((await driver().listUploads(undefined, 1000)).map((u) => u.uploadId)).not.toContain(id);
  });

  it('an interrupted write leaves the committed bytes, and the next write goes on from them', async () => {
    const first = randomBytes(5000);
    const { id, state, size } = await upload(first);
    await expect(
      driver().writeUpload(id, state, size, failingAfter(randomBytes(d.big))),
    ).rejects.toThrow();
    const rest = Buffer.from('a short rest');
    const r = await driver().writeUpload(id, state, size, chunks(rest));
    const whole = Buffer.concat([first, rest]);
    expect(
      (await collect(await driver().readUpload(id, viaJson(r.state), whole.length))).equals(whole),
    ).toBe(true);
    await driver().commitUpload(id, viaJson(r.state), digestOf(whole), whole.length);
    expect((await collect(await driver().readBlob(digestOf(whole)))).equals(whole)).toBe(true);
  });

  it('a stale writer (same state, lost its lease) never changes what the committed state publishes', async () => {
    const first = randomBytes(2000);
    const { id, state, size } = await upload(first);
    const winner = randomBytes(3000);
    const loser = randomBytes(3000);
    const won = await driver().writeUpload(id, state, size, chunks(winner));
    // The stale writer finishes after the winner's state was committed.
    await driver().writeUpload(id, state, size, chunks(loser));
    const whole = Buffer.concat([first, winner]);
    let published = false;
    try {
      await driver().commitUpload(id, viaJson(won.state), digestOf(whole), whole.length);
      published = true;
    } catch {
      // Refusing to publish is allowed: what is not allowed is publishing other bytes.
    }
    if (published) {
      expect((await collect(await driver().readBlob(digestOf(whole)))).equals(whole)).toBe(true);
    } else {
      expect(await driver().statBlob(digestOf(whole))).toBeNull();
    }
  });

  it('zero-byte uploads publish an empty blob', async () => {
    const { id, state } = await upload();
    const digest = digestOf(Buffer.alloc(0));
    expect((await collect(await driver().readUpload(id, state, 0))).length).toBe(0);
    await driver().commitUpload(id, state, digest, 0);
    expect(await driver().statBlob(digest)).toEqual({ size: 0 });
  });

  it('publishing bytes that are already published discards the upload', async () => {
    const data = randomBytes(4096);
    const a = await upload(data);
    const b = await upload(data);
    await driver().commitUpload(a.id, a.state, digestOf(data), data.length);
    await driver().commitUpload(b.id, b.state, digestOf(data), data.length);
    expect((await collect(await driver().readBlob(digestOf(data)))).equals(data)).toBe(true);
    const left = (await driver().listUploads(undefined, 1000)).map((u) => u.uploadId);
    expect(left).not.toContain(a.id);
    expect(left).not.toContain(b.id);
  });

  it('refuses to publish or read a size the upload does not hold, and a state at another offset', async () => {
    const data = randomBytes(100);
    const { id, state } = await upload(data);
    await expect(driver().commitUpload(id, state, digestOf(data), 99)).rejects.toThrow();
    await expect(driver().readUpload(id, state, 101)).rejects.toThrow();
    await expect(driver().writeUpload(id, state, 50, chunks(data))).rejects.toThrow();
    expect(await driver().statBlob(digestOf(data))).toBeNull();
  });

  it('aborting removes the upload (twice is fine) and lists it no more', async () => {
    const { id, state } = await upload(randomBytes(100));
    expect((await driver().listUploads(undefined, 1000)).map((u) => u.uploadId)).toContain(id);
    await driver().abortUpload(id, state);
    await driver().abortUpload(id, state);
    expect((await driver().listUploads(undefined, 1000)).map((u) => u.uploadId)).not.toContain(id);
  });

  it('lists blobs in digest order with a start-after cursor, and forgets deleted ones', async () => {
    const blobs = Array.from({ length: 5 }, () => randomBytes(64));
    for (const b of blobs) {
      const { id, state } = await upload(b);
      await driver().commitUpload(id, state, digestOf(b), b.length);
    }
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await driver().listBlobs(after, 2);
      expect(page.length).toBeLessThanOrEqual(2);
      if (!page.length) break;
      for (const p of page) expect(p.size).toBeGreaterThanOrEqual(0);
      all.push(...page.map((p) => p.digest));
      after = page[page.length - 1].digest;
    }
    expect([...all].sort()).toEqual(all);
    expect(new Set(all).size).toBe(all.length);
    for (const b of blobs) expect(all).toContain(digestOf(b));
    const gone = digestOf(blobs[2]);
    await driver().deleteBlob(gone);
    await driver().deleteBlob(gone);
    expect(await driver().statBlob(gone)).toBeNull();
    await expect(driver().readBlob(gone)).rejects.toMatchObject({ code: 'ENOENT' });
    const after2 = await driver().listBlobs(undefined, 10_000);
    expect(after2.map((b) => b.digest)).not.toContain(gone);
    expect(after2.find((b) => b.digest === digestOf(blobs[0]))?.size).toBe(64);
  });
});

describe('filesystem driver: the rare cases its one-call steps fall back on', () => {
  it('writes a chunk whose upload folder is gone, and a one-segment publish leaves no folder', async () => {
    const root = tempDir('aerugo-fs-driver-');
    const fs = new FilesystemDriver(root);
    const id = newId();
    const state = viaJson(await fs.startUpload(id));
    await rm(join(root, 'uploads', `${id}.d`), { recursive: true });
    const data = randomBytes(3000);
    const r = await fs.writeUpload(id, state, 0, chunks(data));
    expect(r.written).toBe(3000);
    // The first blob of its digest prefix: its folder is made on the way.
    await fs.commitUpload(id, viaJson(r.state), digestOf(data), data.length);
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
    expect((await collect(await fs.readBlob(digestOf(data)))).equals(data)).toBe(true);
  });

  it('an empty write keeps the state and leaves no segment file', async () => {
    const root = tempDir('aerugo-fs-driver-');
    const fs = new FilesystemDriver(root);
    const id = newId();
    const state = viaJson(await fs.startUpload(id));
    const r = await fs.writeUpload(id, state, 0, chunks());
    expect(r).toEqual({ state, written: 0 });
    expect(await readdir(join(root, 'uploads', `${id}.d`))).toEqual([]);
  });
});
