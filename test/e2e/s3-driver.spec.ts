import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { S3Config } from '../../src/config/config.js';
import { createS3Driver, type S3DriverTuning } from '../../src/storage/s3.driver.js';
import type { StorageDriver, UploadDriverState } from '../../src/storage/storage-driver.js';
import { s3ServerAvailable, startS3TestServer, type S3TestServer } from '../support/swift.js';

const MiB = 1024 * 1024;
const KiB = 1024;

const available = s3ServerAvailable();
const required = process.env.CI === 'true';
if (!available && !required) {
  console.warn(
    'Skipping the S3 driver tests: OpenStack Swift is not installed ' +
      '(apt-get install swift swift-proxy swift-account swift-container swift-object memcached).',
  );
}
// In CI a missing Swift must fail the run (startS3TestServer throws), not skip it.
const describeS3 = available || required ? describe : describe.skip;

function sha256(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Yields `buf` cut into pieces of the given sizes (which must add up to its length). */
async function* pieces(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let pos = 0;
  for (const n of sizes) {
    yield buf.subarray(pos, pos + n);
    pos += n;
  }
  if (pos !== buf.length) throw new Error('test bug: sizes do not cover the buffer');
}

/** Yields `buf` in `chunk`-sized pieces, then fails like a client that went away. */
async function* failingAfter(buf: Buffer, chunk: number): AsyncGenerator<Buffer> {
  for (let pos = 0; pos < buf.length; pos += chunk) yield buf.subarray(pos, pos + chunk);
  throw new Error('client went away');
}

async function* empty(): AsyncGenerator<Buffer> {
  // no bytes
}

/** What PostgreSQL does to the state between two requests. */
function viaJson(state: UploadDriverState): UploadDriverState {
  return JSON.parse(JSON.stringify(state)) as UploadDriverState;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describeS3('S3 storage driver against OpenStack Swift (s3api)', () => {
  let server: S3TestServer;
  let raw: S3Client;
  let uploadCounter = 0;

  const config = (overrides: Partial<S3Config> = {}): S3Config => ({
    endpoint: server.endpoint,
    bucket: server.bucket,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    region: server.region,
    usePathStyle: true,
    redirect: false,
    presignExpirySeconds: 600,
    ...overrides,
  });
  // A fresh driver (and S3 client) for every step: only the JSON state carries over.
  const driver = (overrides: Partial<S3Config> = {}, tuning?: S3DriverTuning): StorageDriver =>
    createS3Driver(config(overrides), tuning);
  const newUploadId = () => `0000aaaa-${process.pid}-${Date.now()}-${++uploadCounter}`;

  async function listUploadObjects(uploadId: string): Promise<string[]> {
    const out = await raw.send(
      new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `uploads/${uploadId}/` }),
    );
    return (out.Contents ?? []).map((o) => o.Key!);
  }
  async function listMultipart(uploadId: string): Promise<string[]> {
    const out = await raw.send(
      new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: `uploads/${uploadId}/` }),
    );
    return (out.Uploads ?? []).map((u) => u.UploadId!);
  }
  async function readAll(digest: string, range?: { start: number; end: number }): Promise<Buffer> {
    return collect(await driver().readBlob(digest, range));
  }

  beforeAll(async () => {
    const began = Date.now();
    server = await startS3TestServer({ bucket: 'aerugo-driver-test' });
    console.log(`Swift S3 test server started in ${Date.now() - began} ms`);
    raw = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    });
  });

  afterAll(async () => {
    raw?.destroy();
    await server?.stop();
  });

  it('carries a multipart upload across many writes, processes and chunk sizes, then publishes it', async () => {
    const calls: number[][] = [
      [1], // tail of 1 byte
      [100 * KiB], // tail grows
      [6 * MiB], // tail + 6 MiB: first part
      [12 * MiB], // one full part, 4 MiB tail
      [1, 3 * MiB, 2 * MiB + 5], // assorted chunks
      [], // an empty PATCH
      Array<number>(200).fill(64 * KiB), // many small chunks, ending on a >= 5 MiB remainder
      [3], // a small tail that becomes the (short) last part
    ];
    const total = calls.flat().reduce((a, b) => a + b, 0);
    const blob = randomBytes(total);
    const digest = sha256(blob);
    const uploadId = newUploadId();

    let state = viaJson(await driver().startUpload(uploadId));
    let offset = 0;
    for (const sizes of calls) {
      const length = sizes.reduce((a, b) => a + b, 0);
      const res = await driver().writeUpload(
        uploadId,
        state,
        offset,
        pieces(blob.subarray(offset, offset + length), sizes),
      );
      expect(res.written).toBe(length);
      offset += length;
      state = viaJson(res.state);
      const parts = state.parts as { n: number; size: number }[];
      // Every stored part obeys S3's 5 MiB minimum; the rest is accounted to the tail.
      for (const p of parts) expect(p.size).toBeGreaterThanOrEqual(5 * MiB);
      const tail = state.tail as { size: number } | undefined;
      expect(parts.reduce((a, p) => a + p.size, 0) + (tail?.size ?? 0)).toBe(offset);
    }
    expect((state.parts as unknown[]).length).toBeGreaterThanOrEqual(4);
    expect(state.tail).toBeDefined();
    expect(await listMultipart(uploadId)).toHaveLength(1);

    // Publish with the multipart copy that blobs over 5 GiB need (threshold lowered for the test).
    await driver({}, { maxSingleCopySize: 1 * MiB, copyPartSize: 5 * MiB }).commitUpload(
      uploadId,
      viaJson(state),
      digest,
      total,
    );

    expect(await driver().statBlob(digest)).toEqual({ size: total });
    const stored = await readAll(digest);
    expect(stored.length).toBe(total);
    expect(sha256(stored)).toBe(digest);
    // Ranges across part boundaries, first and last bytes.
    for (const [start, end] of [
      [0, 0],
      [5 * MiB - 3, 5 * MiB + 3],
      [8 * MiB - 1, 16 * MiB],
      [total - 1, total - 1],
    ]) {
      expect((await readAll(digest, { start, end })).equals(blob.subarray(start, end + 1))).toBe(
        true,
      );
    }
    // Nothing of the upload is left behind.
    expect(await listMultipart(uploadId)).toEqual([]);
    expect(await listUploadObjects(uploadId)).toEqual([]);
  });

  it('publishes a multipart blob with a single CopyObject below the copy threshold', async () => {
    const blob = randomBytes(9 * MiB + 17);
    const digest = sha256(blob);
    const uploadId = newUploadId();
    let state = viaJson(await driver().startUpload(uploadId));
    const res = await driver().writeUpload(uploadId, state, 0, pieces(blob, [9 * MiB + 17]));
    state = viaJson(res.state);
    expect(state.parts).toHaveLength(1);
    expect((state.tail as { size: number }).size).toBe(1 * MiB + 17);
    await driver().commitUpload(uploadId, state, digest, blob.length);
    expect(sha256(await readAll(digest))).toBe(digest);
    expect(await listUploadObjects(uploadId)).toEqual([]);
  });

  it('discards what an interrupted write sent and continues from the committed state', async () => {
    const first = randomBytes(3 * MiB);
    const lost = randomBytes(20 * MiB);
    const retry = randomBytes(9 * MiB);
    const blob = Buffer.concat([first, retry]);
    const digest = sha256(blob);
    const uploadId = newUploadId();

    const started = viaJson(await driver().startUpload(uploadId));
    const committed = viaJson(
      (await driver().writeUpload(uploadId, started, 0, pieces(first, [first.length]))).state,
    );

    // The failed call gets far enough to upload two full parts (and start a multipart upload
    // that the committed state knows nothing about) before its input breaks off.
    await expect(
      driver().writeUpload(uploadId, viaJson(committed), first.length, failingAfter(lost, 1 * MiB)),
    ).rejects.toThrow('client went away');
    expect((await listMultipart(uploadId)).length).toBeGreaterThanOrEqual(1);

    // A break before any new byte leaves things as they were too.
    await expect(
      driver().writeUpload(
        uploadId,
        viaJson(committed),
        first.length,
        failingAfter(Buffer.alloc(0), 1),
      ),
    ).rejects.toThrow('client went away');

    // The client resends from the committed offset (with different bytes, to prove none of the
    // failed call's parts survive).
    const res = await driver().writeUpload(
      uploadId,
      viaJson(committed),
      first.length,
      pieces(retry, [4 * MiB, 5 * MiB]),
    );
    expect(res.written).toBe(retry.length);
    const state = viaJson(res.state);
    expect(state.parts).toHaveLength(1);

    await driver().commitUpload(uploadId, state, digest, blob.length);
    const stored = await readAll(digest);
    expect(stored.length).toBe(blob.length);
    expect(sha256(stored)).toBe(digest);
    expect(await listMultipart(uploadId)).toEqual([]);
    expect(await listUploadObjects(uploadId)).toEqual([]);
  });

  it('keeps the committed state usable when a successful write is never recorded', async () => {
    // The driver call succeeds but the database update after it fails: the next request comes
    // with the older state again, so nothing that state references may have been touched.
    const first = randomBytes(9 * MiB + 10); // one part + a tail
    const ghost = randomBytes(7 * MiB); // would replace the tail and add a part
    const second = randomBytes(2 * MiB);
    const blob = Buffer.concat([first, second]);
    const digest = sha256(blob);
    const uploadId = newUploadId();
    const started = viaJson(await driver().startUpload(uploadId));
    const s1 = viaJson(
      (await driver().writeUpload(uploadId, started, 0, pieces(first, [1 * MiB, 8 * MiB + 10])))
        .state,
    );
    expect(s1.parts).toHaveLength(1);
    expect(s1.tail).toBeDefined();

    const unrecorded = await driver().writeUpload(
      uploadId,
      viaJson(s1),
      first.length,
      pieces(ghost, [ghost.length]),
    );
    expect(unrecorded.written).toBe(ghost.length);

    const s2 = viaJson(
      (
        await driver().writeUpload(
          uploadId,
          viaJson(s1),
          first.length,
          pieces(second, [second.length]),
        )
      ).state,
    );
    // And once more from s2, which makes the tail s1 parked stale and deletable.
    const s3 = viaJson((await driver().writeUpload(uploadId, s2, blob.length, empty())).state);
    await driver().commitUpload(uploadId, s3, digest, blob.length);
    expect(sha256(await readAll(digest))).toBe(digest);
    expect(await listUploadObjects(uploadId)).toEqual([]);
  });

  it('refuses a state whose offset does not match, and state from another driver', async () => {
    const uploadId = newUploadId();
    const state = viaJson(await driver().startUpload(uploadId));
    await expect(
      driver().writeUpload(uploadId, state, 5, pieces(Buffer.from('x'), [1])),
    ).rejects.toThrow(/offset 5/);
    await expect(
      driver().writeUpload(uploadId, {}, 0, pieces(Buffer.from('x'), [1])),
    ).rejects.toThrow(/not valid/);
  });

  it('stores zero-byte blobs', async () => {
    const digest = sha256(Buffer.alloc(0));
    const uploadId = newUploadId();
    let state = viaJson(await driver().startUpload(uploadId));
    const res = await driver().writeUpload(uploadId, state, 0, empty());
    expect(res.written).toBe(0);
    state = viaJson(res.state);
    await driver().commitUpload(uploadId, state, digest, 0);
    expect(await driver().statBlob(digest)).toEqual({ size: 0 });
    expect((await readAll(digest)).length).toBe(0);
  });

  it('publishes small blobs straight from the parked tail', async () => {
    const blob = randomBytes(1500);
    const digest = sha256(blob);
    const uploadId = newUploadId();
    let state = viaJson(await driver().startUpload(uploadId));
    state = viaJson(
      (await driver().writeUpload(uploadId, state, 0, pieces(blob.subarray(0, 700), [700]))).state,
    );
    state = viaJson(
      (await driver().writeUpload(uploadId, state, 700, pieces(blob.subarray(700), [1, 799])))
        .state,
    );
    expect(await listMultipart(uploadId)).toEqual([]); // never needed a multipart upload
    await driver().commitUpload(uploadId, state, digest, blob.length);
    expect((await readAll(digest)).equals(blob)).toBe(true);
    expect(await listUploadObjects(uploadId)).toEqual([]);
  });

  it('commits an upload of a blob that already exists by discarding the upload', async () => {
    const blob = randomBytes(2048);
    const digest = sha256(blob);
    for (let i = 0; i < 2; i++) {
      const uploadId = newUploadId();
      const state = viaJson(await driver().startUpload(uploadId));
      const res = await driver().writeUpload(uploadId, state, 0, pieces(blob, [blob.length]));
      await driver().commitUpload(uploadId, viaJson(res.state), digest, blob.length);
      expect(await listUploadObjects(uploadId)).toEqual([]);
    }
    expect((await readAll(digest)).equals(blob)).toBe(true);
  });

  it('refuses to commit a size the upload does not hold', async () => {
    const uploadId = newUploadId();
    const blob = randomBytes(10);
    const state = viaJson(
      (
        await driver().writeUpload(
          uploadId,
          await driver().startUpload(uploadId),
          0,
          pieces(blob, [10]),
        )
      ).state,
    );
    await expect(driver().commitUpload(uploadId, state, sha256(blob), 11)).rejects.toThrow(
      /holds 10 bytes, expected 11/,
    );
    await driver().abortUpload(uploadId, state);
  });

  it('aborts an upload: its multipart upload and parked tails are gone, and aborting again is fine', async () => {
    const uploadId = newUploadId();
    let state = viaJson(await driver().startUpload(uploadId));
    state = viaJson(
      (await driver().writeUpload(uploadId, state, 0, pieces(randomBytes(7 * MiB), [7 * MiB])))
        .state,
    );
    state = viaJson(
      (await driver().writeUpload(uploadId, state, 7 * MiB, pieces(randomBytes(100), [100]))).state,
    );
    state = viaJson(
      (await driver().writeUpload(uploadId, state, 7 * MiB + 100, pieces(randomBytes(50), [50])))
        .state,
    );
    expect(await listMultipart(uploadId)).toHaveLength(1);
    expect((await listUploadObjects(uploadId)).some((k) => /tail-\d+$/.test(k))).toBe(true);

    await driver().abortUpload(uploadId, state);
    expect(await listMultipart(uploadId)).toEqual([]);
    expect(await listUploadObjects(uploadId)).toEqual([]);

    await expect(driver().abortUpload(uploadId, state)).resolves.toBeUndefined();
    await expect(driver().abortUpload(uploadId, {})).resolves.toBeUndefined();
  });

  it('stats, reads ranges of and deletes blobs', async () => {
    const blob = randomBytes(64 * KiB);
    const digest = sha256(blob);
    const uploadId = newUploadId();
    const state = viaJson(
      (
        await driver().writeUpload(
          uploadId,
          await driver().startUpload(uploadId),
          0,
          pieces(blob, [blob.length]),
        )
      ).state,
    );
    await driver().commitUpload(uploadId, state, digest, blob.length);

    expect(await driver().statBlob(digest)).toEqual({ size: blob.length });
    expect((await readAll(digest, { start: 100, end: 199 })).equals(blob.subarray(100, 200))).toBe(
      true,
    );
    expect((await readAll(digest, { start: 0, end: blob.length - 1 })).equals(blob)).toBe(true);
    const head = await raw.send(
      new HeadObjectCommand({
        Bucket: server.bucket,
        Key: `blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`,
      }),
    );
    expect(head.ContentLength).toBe(blob.length);

    await driver().deleteBlob(digest);
    expect(await driver().statBlob(digest)).toBeNull();
    await expect(driver().readBlob(digest)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(driver().deleteBlob(digest)).resolves.toBeUndefined();
    expect(await driver().statBlob(sha256(Buffer.from('never stored')))).toBeNull();
  });

  it('hands out presigned URLs when redirect is on, and none when it is off', async () => {
    const blob = randomBytes(4096);
    const digest = sha256(blob);
    const uploadId = newUploadId();
    const state = viaJson(
      (
        await driver().writeUpload(
          uploadId,
          await driver().startUpload(uploadId),
          0,
          pieces(blob, [blob.length]),
        )
      ).state,
    );
    await driver().commitUpload(uploadId, state, digest, blob.length);

    expect(await driver({ redirect: false }).blobRedirectUrl!(digest, 'GET')).toBeUndefined();

    const redirecting = driver({ redirect: true, presignExpirySeconds: 300 });
    const url = (await redirecting.blobRedirectUrl!(digest, 'GET'))!;
    expect(url).toMatch(/X-Amz-Signature=/);
    expect(url).toMatch(/X-Amz-Expires=300/);
    expect(url).not.toContain(server.secretKey);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(blob)).toBe(true);
    const part = await fetch(url, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(blob.subarray(10, 20))).toBe(true);

    const headUrl = (await redirecting.blobRedirectUrl!(digest, 'HEAD'))!;
    const head = await fetch(headUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(blob.length));
    // A GET signature does not authorise anything else.
    expect((await fetch(headUrl)).status).toBe(403);

    // Presigned against the public endpoint when one is configured.
    const publicEndpoint = server.endpoint.replace('127.0.0.1', 'localhost');
    const viaPublic = (await driver({ redirect: true, publicEndpoint }).blobRedirectUrl!(
      digest,
      'GET',
    ))!;
    expect(viaPublic.startsWith(`${publicEndpoint}/`)).toBe(true);
    const res = await fetch(viaPublic);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(blob)).toBe(true);

    // The expiry is honoured.
    const shortLived = (await driver({ redirect: true, presignExpirySeconds: 1 }).blobRedirectUrl!(
      digest,
      'GET',
    ))!;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await fetch(shortLived)).status).toBe(403);
  });

  it('checks health and reports unreachable endpoints, bad credentials and missing buckets clearly', async () => {
    await expect(driver().checkHealth()).resolves.toBeUndefined();

    const wrongSecret = 'not-the-secret-0123456789';
    const denied = driver({ secretKey: wrongSecret }, { maxAttempts: 1 }).checkHealth();
    await expect(denied).rejects.toThrow(/refused the credentials/);
    await denied.catch((e: Error) => expect(e.message).not.toContain(wrongSecret));

    await expect(
      driver({ bucket: 'no-such-bucket-here' }, { maxAttempts: 1 }).checkHealth(),
    ).rejects.toThrow('S3 bucket "no-such-bucket-here" does not exist');
    await expect(
      driver({ bucket: 'no-such-bucket-here' }, { maxAttempts: 1 }).statBlob(
        sha256(Buffer.from('a')),
      ),
    ).resolves.toBeNull();
    await expect(
      driver({ bucket: 'no-such-bucket-here' }, { maxAttempts: 1 }).writeUpload(
        'aaaaaaaa-1',
        { v: 1, parts: [], seq: 0, stale: [] },
        0,
        pieces(Buffer.from('abc'), [3]),
      ),
    ).rejects.toThrow(/bucket "no-such-bucket-here" does not exist/);

    await expect(
      driver({ bucket: 'no-such-bucket-here' }, { maxAttempts: 1 }).readBlob(
        sha256(Buffer.from('a')),
      ),
    ).rejects.toThrow(/does not exist/);

    const port = await closedPort();
    await expect(
      driver({ endpoint: `http://127.0.0.1:${port}` }, { maxAttempts: 1 }).checkHealth(),
    ).rejects.toThrow(`cannot reach the S3 endpoint 127.0.0.1:${port}`);
  });
});
