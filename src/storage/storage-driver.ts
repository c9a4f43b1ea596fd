import type { Readable } from 'node:stream';

/** Driver-specific upload state, persisted as JSON with the upload row so any node can continue. */
export type UploadDriverState = Record<string, unknown>;

export interface BlobStat {
  size: number;
}

/** A blob found at its content address by a listing. */
export interface BlobListing {
  digest: string;
  size: number;
}

/** Upload bytes found in the store by a listing (they may belong to no session any more). */
export interface UploadListing {
  uploadId: string;
  /** When its bytes were last written, as far as the store can tell. */
  modifiedAt: Date;
}

/** Inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where blob bytes live. Drivers know nothing about HTTP or the database: they move bytes and
 * return state. Content addressing and digest checks happen above them.
 *
 * Upload protocol: `startUpload` once, then `writeUpload` any number of times (possibly on other
 * nodes, each time with the state the previous successful call returned), then `commitUpload` or
 * `abortUpload`. A `writeUpload` that fails or is interrupted must leave the committed bytes
 * (`offset` and the state passed in) intact: the next call restarts from that same offset and
 * anything written past it by the failed call is discarded or overwritten.
 *
 * Writers are fenced by the upload's lease (UploadsService), but a writer that lost its lease may
 * still be flushing bytes for a moment: a driver must make sure such a stale write can never alter
 * bytes that another state refers to, or else make the later commit fail rather than publish them
 * (the filesystem driver writes every call to a new segment file; the S3 driver's committed parts
 * and tails are checked by ETag when the upload is completed).
 */
export interface StorageDriver {
  readonly name: string;

  startUpload(uploadId: string): Promise<UploadDriverState>;

  writeUpload(
    uploadId: string,
    state: UploadDriverState,
    offset: number,
    data: AsyncIterable<Buffer>,
  ): Promise<{ state: UploadDriverState; written: number }>;

  /** Publishes the upload at the blob's content address; it becomes visible whole or not at all. */
  commitUpload(
    uploadId: string,
    state: UploadDriverState,
    digest: string,
    size: number,
  ): Promise<void>;

  /**
   * The `size` bytes of an upload so far, in order, for computing a digest that was not computed
   * while they arrived (an upload continued on another node, or completed with another algorithm).
   * After this the upload may only be committed or aborted, not written to.
   */
  readUpload(uploadId: string, state: UploadDriverState, size: number): Promise<Readable>;

  abortUpload(uploadId: string, state: UploadDriverState): Promise<void>;

  statBlob(digest: string): Promise<BlobStat | null>;

  readBlob(digest: string, range?: ByteRange): Promise<Readable>;

  deleteBlob(digest: string): Promise<void>;

  /**
   * The blobs at their content addresses, in byte order of their digests, starting after `after`,
   * at most `limit`. A listing is not a snapshot: blobs published or deleted meanwhile may or may
   * not appear. (Garbage collection compares it with the database.)
   */
  listBlobs(after: string | undefined, limit: number): Promise<BlobListing[]>;

  /** Upload sessions that have bytes in the store, by id after `after`, at most `limit`. */
  listUploads(after: string | undefined, limit: number): Promise<UploadListing[]>;

  /** A URL the client may fetch the blob from directly (e.g. presigned), or undefined to proxy. */
  blobRedirectUrl?(digest: string, method: 'GET' | 'HEAD'): Promise<string | undefined>;

  /** Throws when the backing store is unreachable. */
  checkHealth(): Promise<void>;
}

export const STORAGE_DRIVER = Symbol('STORAGE_DRIVER');

/**
 * A failure of the blob store itself (unreachable, credentials refused, throttled past retries),
 * described without secrets. `code` is the store's error name; `ENOENT` means the blob is missing.
 */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** Splits "sha256:abcd…" into the path-safe pieces drivers use for content-addressed keys. */
export function blobKeyParts(digest: string): { algorithm: string; hex: string; prefix: string } {
  const idx = digest.indexOf(':');
  const algorithm = digest.slice(0, idx);
  const hex = digest.slice(idx + 1);
  if (!/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]{32,}$/.test(hex)) {
    throw new Error(`not a content address: ${digest}`);
  }
  return { algorithm, hex, prefix: hex.slice(0, 2) };
}
