import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Logger } from '@nestjs/common';
import { Readable } from 'node:stream';
import type { S3Config } from '../config/config.js';
import {
  initialUploadState,
  parseUploadState,
  PartBuffer,
  S3_MAX_PARTS,
  S3_MIN_PART_SIZE,
  uploadStateSize,
  type S3UploadState,
  type UploadedPart,
  type UploadTail,
} from './s3-parts.js';
import {
  blobKeyParts,
  StorageError,
  type BlobListing,
  type BlobStat,
  type ByteRange,
  type StorageDriver,
  type UploadDriverState,
  type UploadListing,
} from './storage-driver.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const UPLOAD_ID = /^[a-zA-Z0-9-]{8,64}$/;
const CONTENT_TYPE = 'application/octet-stream';
/** S3's limit for a single-request CopyObject (and for one part). */
const S3_MAX_SINGLE_COPY = 5 * GiB;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'Forbidden',
  'CredentialsProviderError',
]);

/** Knobs that are not part of the deployment configuration; tests use them to reach edge paths. */
export interface S3DriverTuning {
  /** Bytes gathered in memory per part (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Largest object published with one CopyObject; bigger ones are copied in parts (default 5 GiB). */
  maxSingleCopySize?: number;
  /** Part size for the multipart copy of big blobs (default 512 MiB, grown to stay within 10000 parts). */
  copyPartSize?: number;
  /** Attempts per request, retrying throttling, 5xx and network errors with backoff (default 5). */
  maxAttempts?: number;
}

/** A failed S3 request, described without credentials. `code` is S3's error name (or ENOENT for a missing blob). */
export class S3StorageError extends StorageError {
  constructor(
    message: string,
    code: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, code, options);
    this.name = 'S3StorageError';
  }
}

function errorCode(e: unknown): { code: string; status?: number } {
  if (e instanceof S3StorageError) return { code: e.code, status: e.status };
  if (e instanceof S3ServiceException) return { code: e.name, status: e.$metadata?.httpStatusCode };
  const err = e as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number } };
  let code =
    typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' ? err.name : 'Error';
  if (!NETWORK_CODES.has(code)) {
    // Errors from another realm (e.g. a VM context) reach us re-wrapped with only their message.
    const named = /\b(E[A-Z]{4,}|TimeoutError)\b/.exec(e instanceof Error ? e.message : String(e));
    if (named && NETWORK_CODES.has(named[1])) code = named[1];
  }
  return { code, status: err?.$metadata?.httpStatusCode };
}

function isNotFound(e: unknown): boolean {
  const { code, status } = errorCode(e);
  if (code === 'NoSuchBucket') return false;
  return status === 404 || code === 'NotFound' || code === 'NoSuchKey';
}

function isNoSuchUpload(e: unknown): boolean {
  const { code, status } = errorCode(e);
  return code === 'NoSuchUpload' || status === 404;
}

/**
 * Blobs as objects at `blobs/<alg>/<xx>/<hex>`. An upload is an S3 multipart upload at
 * `uploads/<id>/data`, begun with its first full part; the bytes after the last part (fewer than
 * S3's 5 MiB minimum) wait in `uploads/<id>/tail-<n>` between calls. Everything needed to go on
 * is in the returned JSON state, so any process can continue an upload.
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  private readonly logger = new Logger('S3Driver');
  private readonly client: S3Client;
  private readonly presigner?: S3Client;
  private readonly bucket: string;
  private readonly endpointName: string;
  private readonly partSize: number;
  private readonly maxSingleCopySize: number;
  private readonly copyPartSize: number;

  constructor(
    private readonly config: S3Config,
    tuning: S3DriverTuning = {},
  ) {
    this.bucket = config.bucket;
    this.partSize = tuning.partSize ?? 8 * MiB;
    if (this.partSize < S3_MIN_PART_SIZE || this.partSize > S3_MAX_SINGLE_COPY) {
      throw new Error(`S3 part size must be between 5 MiB and 5 GiB, got ${this.partSize}`);
    }
    this.maxSingleCopySize = Math.min(
      tuning.maxSingleCopySize ?? S3_MAX_SINGLE_COPY,
      S3_MAX_SINGLE_COPY,
    );
    this.copyPartSize = Math.min(
      Math.max(tuning.copyPartSize ?? 512 * MiB, S3_MIN_PART_SIZE),
      S3_MAX_SINGLE_COPY,
    );
    this.endpointName = config.endpoint ? new URL(config.endpoint).host : `S3 in ${config.region}`;
    const base = (endpoint: string | undefined): S3ClientConfig => ({
      region: config.region,
      endpoint,
      forcePathStyle: config.usePathStyle,
      credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secretKey },
      maxAttempts: tuning.maxAttempts ?? 5,
      retryMode: 'standard',
      // Only send/verify checksums S3 demands: S3-compatible stores lag behind the newer
      // x-amz-checksum-* headers (Swift's s3api, for one, refuses aws-chunked bodies).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 10_000,
        httpAgent: { keepAlive: true, maxSockets: 256 },
        httpsAgent: { keepAlive: true, maxSockets: 256 },
      },
    });
    this.client = new S3Client(base(config.endpoint));
    if (config.redirect) {
      this.presigner = config.publicEndpoint
        ? new S3Client(base(config.publicEndpoint))
        : this.client;
    }
  }

  // ---- keys -------------------------------------------------------------------------------------

  private uploadPrefix(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new Error('invalid upload id');
    return `uploads/${uploadId}/`;
  }

  private dataKey(uploadId: string): string {
    return `${this.uploadPrefix(uploadId)}data`;
  }

  private tailKey(uploadId: string, seq: number): string {
    return `${this.uploadPrefix(uploadId)}tail-${seq}`;
  }

  private blobKey(digest: string): string {
    const { algorithm, hex, prefix } = blobKeyParts(digest);
    return `blobs/${algorithm}/${prefix}/${hex}`;
  }

  private copySource(key: string): string {
    return `${encodeURIComponent(this.bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  // ---- requests -----------------------------------------------------------------------------------

  /** Runs one S3 request, turning failures into S3StorageErrors with a clear, secret-free message. */
  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (e) {
      const { code, status } = errorCode(e);
      let message: string;
      if (NETWORK_CODES.has(code) && status === undefined) {
        message = `cannot reach the S3 endpoint ${this.endpointName} (${code})`;
      } else if (CREDENTIAL_CODES.has(code) || status === 403) {
        message = `S3 refused the credentials or permissions for bucket "${this.bucket}" during ${operation} (${code})`;
      } else if (code === 'NoSuchBucket') {
        message = `S3 bucket "${this.bucket}" does not exist`;
      } else {
        const detail =
          e instanceof Error && e.message && e.message !== code ? `: ${e.message}` : '';
        message = `S3 ${operation} failed with ${code}${status ? ` (HTTP ${status})` : ''}${detail}`;
      }
      throw new S3StorageError(message, code, status, { cause: e });
    }
  }

  private async headObject(key: string): Promise<{ size: number } | null> {
    try {
      const head = await this.call('HeadObject', () =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  private async createMultipart(key: string): Promise<string> {
    const out = await this.call('CreateMultipartUpload', () =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          ContentType: CONTENT_TYPE,
        }),
      ),
    );
    if (!out.UploadId)
      throw new S3StorageError('S3 CreateMultipartUpload returned no UploadId', 'NoUploadId');
    return out.UploadId;
  }

  private async uploadPart(
    key: string,
    mpu: string,
    partNumber: number,
    body: Buffer,
  ): Promise<UploadedPart> {
    if (partNumber > S3_MAX_PARTS) {
      throw new S3StorageError(
        `upload exceeds S3's limit of ${S3_MAX_PARTS} parts`,
        'TooManyParts',
      );
    }
    const out = await this.call('UploadPart', () =>
      this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: mpu,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
      ),
    );
    if (!out.ETag) throw new S3StorageError('S3 UploadPart returned no ETag', 'NoETag');
    return { n: partNumber, etag: out.ETag, size: body.length };
  }

  /** Reads a parked tail into `into`, refusing it if it is not the exact object the state recorded. */
  private async readTail(uploadId: string, tail: UploadTail, into: PartBuffer): Promise<void> {
    const out = await this.call('GetObject', () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.tailKey(uploadId, tail.seq),
          IfMatch: tail.etag,
        }),
      ),
    );
    const body = out.Body;
    if (!(body instanceof Readable))
      throw new S3StorageError('S3 GetObject returned no readable body', 'NoBody');
    let got = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        got += chunk.length;
        if (got > tail.size || into.append(chunk) !== chunk.length) break;
      }
    } finally {
      body.destroy();
    }
    if (got !== tail.size) {
      throw new S3StorageError(
        `upload ${uploadId}: parked tail does not hold the ${tail.size} bytes recorded`,
        'TailMismatch',
      );
    }
  }

  private async deleteObject(key: string): Promise<void> {
    await this.call('DeleteObject', () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
    );
  }

  private async abortMultipart(key: string, mpu: string): Promise<void> {
    try {
      await this.call('AbortMultipartUpload', () =>
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: mpu }),
        ),
      );
    } catch (e) {
      if (!isNoSuchUpload(e)) throw e;
    }
  }

  /** Aborts every multipart upload and deletes every object under the upload's prefix. */
  private async removeUploadObjects(
    uploadId: string,
    state: S3UploadState | undefined,
  ): Promise<void> {
    const prefix = this.uploadPrefix(uploadId);
    if (state?.mpu) await this.abortMultipart(this.dataKey(uploadId), state.mpu);
    // Multipart uploads begun by writes that failed before their state was committed.
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call('ListMultipartUploads', () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId) await this.abortMultipart(u.Key, u.UploadId);
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    let token: string | undefined;
    for (;;) {
      const page = await this.call('ListObjectsV2', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) await this.deleteObject(o.Key);
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      token = page.NextContinuationToken;
    }
  }

  // ---- uploads ------------------------------------------------------------------------------------

  async startUpload(uploadId: string): Promise<UploadDriverState> {
    this.uploadPrefix(uploadId);
    // Nothing to create yet: the multipart upload begins with the first full part, so small blobs
    // never need one.
    return { ...initialUploadState() };
  }

  async writeUpload(
    uploadId: string,
    rawState: UploadDriverState,
    offset: number,
    data: AsyncIterable<Buffer>,
  ): Promise<{ state: UploadDriverState; written: number }> {
    const state = parseUploadState(rawState);
    const held = uploadStateSize(state);
    if (held !== offset) {
      throw new S3StorageError(
        `upload ${uploadId}: offset ${offset} does not match the ${held} bytes stored`,
        'OffsetMismatch',
      );
    }
    const key = this.dataKey(uploadId);

    // Tails the committed state replaced are unreferenced now; a failure here only leaves litter
    // that abort/commit sweep up.
    const stale: number[] = [];
    for (const seq of state.stale) {
      await this.deleteObject(this.tailKey(uploadId, seq)).catch(() => stale.push(seq));
    }

    // New parts are numbered after the committed ones, so a failed call can only have touched
    // parts this state does not reference; a retry overwrites them.
    const parts = [...state.parts];
    let mpu = state.mpu;
    let nextPart = parts.length ? parts[parts.length - 1].n + 1 : 1;
    const buffer = new PartBuffer(this.partSize);
    let tailLoaded = !state.tail;
    let written = 0;

    const flush = async () => {
      mpu ??= await this.createMultipart(key);
      parts.push(await this.uploadPart(key, mpu, nextPart, buffer.bytes()));
      nextPart += 1;
      buffer.reset();
    };

    for await (const chunk of data) {
      if (!chunk.length) continue;
      if (!tailLoaded) {
        // The parked tail goes in front of the new bytes.
        await this.readTail(uploadId, state.tail!, buffer);
        tailLoaded = true;
      }
      written += chunk.length;
      let pos = 0;
      while (pos < chunk.length) {
        pos += buffer.append(pos === 0 ? chunk : chunk.subarray(pos));
        if (buffer.full) await flush();
      }
    }

    if (written === 0) return { state: { ...state, stale }, written: 0 };

    let tail: UploadTail | undefined;
    let seq = state.seq;
    if (buffer.length >= S3_MIN_PART_SIZE) {
      await flush();
    } else if (buffer.length > 0) {
      seq += 1;
      const body = buffer.bytes();
      const out = await this.call('PutObject', () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.tailKey(uploadId, seq),
            Body: body,
            ContentLength: body.length,
            ContentType: CONTENT_TYPE,
          }),
        ),
      );
      if (!out.ETag) throw new S3StorageError('S3 PutObject returned no ETag', 'NoETag');
      tail = { seq, size: body.length, etag: out.ETag };
    }
    if (state.tail) stale.push(state.tail.seq);
    const next: S3UploadState = { v: 1, mpu, parts, tail, seq, stale };
    return { state: { ...next }, written };
  }

  async commitUpload(
    uploadId: string,
    rawState: UploadDriverState,
    digest: string,
    size: number,
  ): Promise<void> {
    const state = parseUploadState(rawState);
    const held = uploadStateSize(state);
    if (held !== size) {
      throw new S3StorageError(
        `upload ${uploadId} holds ${held} bytes, expected ${size}`,
        'SizeMismatch',
      );
    }
    const blobKey = this.blobKey(digest);
    if (await this.headObject(blobKey)) {
      // Content-addressed: the same bytes are already published.
      await this.abortUpload(uploadId, rawState);
      return;
    }

    if (size === 0) {
      // A multipart upload cannot have zero parts.
      await this.call('PutObject', () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: blobKey,
            Body: Buffer.alloc(0),
            ContentLength: 0,
            ContentType: CONTENT_TYPE,
          }),
        ),
      );
    } else if (!state.parts.length && state.tail) {
      // Everything fits in the parked tail: publish it with one server-side copy.
      const tail = state.tail;
      await this.call('CopyObject', () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: blobKey,
            CopySource: this.copySource(this.tailKey(uploadId, tail.seq)),
            CopySourceIfMatch: tail.etag,
          }),
        ),
      );
    } else {
      const dataKey = this.dataKey(uploadId);
      await this.completeMultipart(uploadId, state, dataKey, size);
      await this.publish(dataKey, blobKey, size);
    }

    await this.removeUploadObjects(uploadId, state).catch((e: unknown) => {
      this.logger.warn(
        `Blob published, but cleaning up upload ${uploadId} failed: ${(e as Error).message}`,
      );
    });
  }

  async readUpload(uploadId: string, rawState: UploadDriverState, size: number): Promise<Readable> {
    const state = parseUploadState(rawState);
    const held = uploadStateSize(state);
    if (held !== size) {
      throw new S3StorageError(
        `upload ${uploadId} holds ${held} bytes, expected ${size}`,
        'SizeMismatch',
      );
    }
    if (size === 0) return Readable.from([]);
    let key: string;
    let ifMatch: string | undefined;
    if (!state.parts.length && state.tail) {
      key = this.tailKey(uploadId, state.tail.seq);
      ifMatch = state.tail.etag;
    } else {
      // Parts of an unfinished multipart upload cannot be read: finish it (commitUpload finds it
      // finished and only publishes it).
      key = this.dataKey(uploadId);
      await this.completeMultipart(uploadId, state, key, size);
    }
    const out = await this.call('GetObject', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: ifMatch })),
    );
    if (!(out.Body instanceof Readable))
      throw new S3StorageError('S3 GetObject returned no readable body', 'NoBody');
    return out.Body;
  }

  /** Turns the multipart upload (plus the parked tail as its last part) into the object `dataKey`. */
  private async completeMultipart(
    uploadId: string,
    state: S3UploadState,
    dataKey: string,
    size: number,
  ): Promise<void> {
    // An earlier commit may have got this far before failing.
    const done = await this.headObject(dataKey);
    if (done?.size === size) return;
    const mpu = state.mpu!;
    const parts = [...state.parts];
    if (state.tail) {
      const buffer = new PartBuffer(state.tail.size);
      await this.readTail(uploadId, state.tail, buffer);
      parts.push(
        await this.uploadPart(dataKey, mpu, parts[parts.length - 1].n + 1, buffer.bytes()),
      );
    }
    try {
      await this.call('CompleteMultipartUpload', () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: dataKey,
            UploadId: mpu,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
          }),
        ),
      );
    } catch (e) {
      // A retried request whose first attempt succeeded finds the upload gone.
      if (isNoSuchUpload(e) && (await this.headObject(dataKey))?.size === size) return;
      throw e;
    }
    const made = await this.headObject(dataKey);
    if (made?.size !== size) {
      throw new S3StorageError(
        `upload ${uploadId}: completed object holds ${made?.size ?? 0} bytes, expected ${size}`,
        'SizeMismatch',
      );
    }
  }

  /** Copies `from` to `to` server-side; `to` appears whole or not at all. */
  private async publish(from: string, to: string, size: number): Promise<void> {
    const source = this.copySource(from);
    if (size <= this.maxSingleCopySize) {
      await this.call('CopyObject', () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: to,
            CopySource: source,
            ContentType: CONTENT_TYPE,
            MetadataDirective: 'REPLACE',
          }),
        ),
      );
      return;
    }
    // Past CopyObject's 5 GiB limit: a multipart copy, completed straight at the blob's key.
    const partSize = Math.max(this.copyPartSize, Math.ceil(size / S3_MAX_PARTS));
    const count = Math.ceil(size / partSize);
    const mpu = await this.createMultipart(to);
    try {
      const parts: { PartNumber: number; ETag: string }[] = new Array(count);
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const i = next++;
          const start = i * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const out = await this.call('UploadPartCopy', () =>
            this.client.send(
              new UploadPartCopyCommand({
                Bucket: this.bucket,
                Key: to,
                UploadId: mpu,
                PartNumber: i + 1,
                CopySource: source,
                CopySourceRange: `bytes=${start}-${end}`,
              }),
            ),
          );
          const etag = out.CopyPartResult?.ETag;
          if (!etag) throw new S3StorageError('S3 UploadPartCopy returned no ETag', 'NoETag');
          parts[i] = { PartNumber: i + 1, ETag: etag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, count) }, worker));
      await this.call('CompleteMultipartUpload', () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId: mpu,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (e) {
      await this.abortMultipart(to, mpu).catch(() => undefined);
      throw e;
    }
  }

  async abortUpload(uploadId: string, rawState: UploadDriverState): Promise<void> {
    let state: S3UploadState | undefined;
    try {
      state = parseUploadState(rawState);
    } catch {
      state = undefined; // still sweep the upload's prefix
    }
    await this.removeUploadObjects(uploadId, state);
  }

  // ---- blobs --------------------------------------------------------------------------------------

  async statBlob(digest: string): Promise<BlobStat | null> {
    return this.headObject(this.blobKey(digest));
  }

  async readBlob(digest: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await this.call('GetObject', () =>
        this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.blobKey(digest),
            Range: range ? `bytes=${range.start}-${range.end}` : undefined,
          }),
        ),
      );
      if (!(out.Body instanceof Readable))
        throw new S3StorageError('S3 GetObject returned no readable body', 'NoBody');
      return out.Body;
    } catch (e) {
      if (isNotFound(e))
        throw new S3StorageError(`blob ${digest} is not in the bucket`, 'ENOENT', 404, {
          cause: e,
        });
      throw e;
    }
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.deleteObject(this.blobKey(digest));
  }

  async listBlobs(after: string | undefined, limit: number): Promise<BlobListing[]> {
    const out: BlobListing[] = [];
    let token: string | undefined;
    let startAfter = after ? this.blobKey(after) : undefined;
    while (out.length < limit) {
      const page = await this.call('ListObjectsV2', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: 'blobs/',
            StartAfter: token ? undefined : startAfter,
            ContinuationToken: token,
            MaxKeys: Math.min(1000, limit - out.length),
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        const m = /^blobs\/([a-z0-9]+)\/[a-f0-9]{2}\/([a-f0-9]+)$/.exec(o.Key ?? '');
        if (m) out.push({ digest: `${m[1]}:${m[2]}`, size: o.Size ?? 0 });
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      token = page.NextContinuationToken;
      startAfter = undefined;
    }
    return out.slice(0, limit);
  }

  async listUploads(after: string | undefined, limit: number): Promise<UploadListing[]> {
    const byId = new Map<string, Date>();
    const note = (key: string | undefined, at: Date | undefined) => {
      const m = /^uploads\/([^/]+)\//.exec(key ?? '');
      if (!m || !UPLOAD_ID.test(m[1]) || (after !== undefined && m[1] <= after)) return;
      const when = at ?? new Date(0);
      const seen = byId.get(m[1]);
      if (!seen || seen < when) byId.set(m[1], when);
    };
    let token: string | undefined;
    for (;;) {
      const page = await this.call('ListObjectsV2', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: 'uploads/',
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of page.Contents ?? []) note(o.Key, o.LastModified);
      // Keys do not sort like ids (an id may be a prefix of another): read them all.
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      token = page.NextContinuationToken;
    }
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call('ListMultipartUploads', () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: 'uploads/',
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? []) note(u.Key, u.Initiated);
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    return [...byId]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .slice(0, Math.max(0, limit))
      .map(([uploadId, modifiedAt]) => ({ uploadId, modifiedAt }));
  }

  async blobRedirectUrl(digest: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    if (!this.presigner) return undefined;
    const input = { Bucket: this.bucket, Key: this.blobKey(digest) };
    const command = method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
    return getSignedUrl(this.presigner, command, { expiresIn: this.config.presignExpirySeconds });
  }

  async checkHealth(): Promise<void> {
    try {
      await this.call('HeadBucket', () =>
        this.client.send(new HeadBucketCommand({ Bucket: this.bucket })),
      );
    } catch (e) {
      // HEAD responses carry no error code, only the status.
      if (isNotFound(e))
        throw new S3StorageError(`S3 bucket "${this.bucket}" does not exist`, 'NoSuchBucket', 404, {
          cause: e,
        });
      throw e;
    }
  }
}

export function createS3Driver(config: S3Config, tuning?: S3DriverTuning): StorageDriver {
  return new S3Driver(config, tuning);
}
