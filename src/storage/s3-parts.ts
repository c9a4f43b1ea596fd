/**
 * The bookkeeping of the S3 driver's multipart uploads: the state persisted between `writeUpload`
 * calls (as JSON, possibly read by another process) and the bounded buffer a part is gathered in.
 */

/** S3 needs every part of a multipart upload except the last to be at least this long. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3 numbers parts 1..10000. */
export const S3_MAX_PARTS = 10_000;

/** One uploaded part of the multipart upload. */
export interface UploadedPart {
  /** PartNumber. */
  n: number;
  etag: string;
  size: number;
}

/** Bytes past the last part, too few for a part of their own, parked in the object `tail-<seq>`. */
export interface UploadTail {
  seq: number;
  size: number;
  etag: string;
}

export interface S3UploadState {
  v: 1;
  /** S3 UploadId of the multipart upload at `uploads/<id>/data`; created with the first part. */
  mpu?: string;
  /** Completed parts in ascending PartNumber order; every one but a final flush is >= 5 MiB. */
  parts: UploadedPart[];
  tail?: UploadTail;
  /** Highest tail sequence number handed out so far. */
  seq: number;
  /**
   * Tail objects the previous call replaced. They may only be deleted once this state is the
   * committed one (the state before it still referenced them), i.e. by the next call.
   */
  stale: number[];
}

export function initialUploadState(): S3UploadState {
  return { v: 1, parts: [], seq: 0, stale: [] };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates state read back from the database; throws on anything this driver did not write. */
export function parseUploadState(raw: unknown): S3UploadState {
  const bad = (why: string): never => {
    throw new Error(
      `S3 upload state is not valid (${why}); was the upload started with another storage driver?`,
    );
  };
  if (typeof raw !== 'object' || raw === null) return bad('not an object');
  const r = raw as Record<string, unknown>;
  if (r.v !== 1) return bad('unknown version');
  if (r.mpu !== undefined && (typeof r.mpu !== 'string' || r.mpu === '')) return bad('mpu');
  if (!Array.isArray(r.parts)) return bad('parts');
  const parts: UploadedPart[] = [];
  let last = 0;
  for (const p of r.parts as unknown[]) {
    const q = p as Record<string, unknown> | null;
    if (
      !q ||
      !isCount(q.n) ||
      q.n <= last ||
      q.n > S3_MAX_PARTS ||
      typeof q.etag !== 'string' ||
      !isCount(q.size)
    ) {
      return bad('part');
    }
    last = q.n;
    parts.push({ n: q.n, etag: q.etag, size: q.size });
  }
  if (parts.length && r.mpu === undefined) return bad('parts without a multipart upload');
  if (!isCount(r.seq)) return bad('seq');
  let tail: UploadTail | undefined;
  if (r.tail !== undefined) {
    const t = r.tail as Record<string, unknown> | null;
    if (
      !t ||
      !isCount(t.seq) ||
      t.seq < 1 ||
      t.seq > r.seq ||
      !isCount(t.size) ||
      t.size < 1 ||
      typeof t.etag !== 'string'
    ) {
      return bad('tail');
    }
    tail = { seq: t.seq, size: t.size, etag: t.etag };
  }
  if (!Array.isArray(r.stale) || !(r.stale as unknown[]).every(isCount)) return bad('stale');
  return {
    v: 1,
    mpu: r.mpu as string | undefined,
    parts,
    tail,
    seq: r.seq,
    stale: [...(r.stale as number[])],
  };
}

/** Bytes the state accounts for: all parts plus the tail. */
export function uploadStateSize(state: S3UploadState): number {
  return state.parts.reduce((sum, p) => sum + p.size, 0) + (state.tail?.size ?? 0);
}

/**
 * Gathers bytes for one part. Grows on demand (small writes allocate little) up to `limit`
 * bytes and is reused after each part, so one upload never holds more than one part in memory.
 */
export class PartBuffer {
  private buf: Buffer = Buffer.alloc(0);
  private fill = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.fill;
  }

  get full(): boolean {
    return this.fill === this.limit;
  }

  /** Free room before the buffer is full. */
  get room(): number {
    return this.limit - this.fill;
  }

  /** Copies as much of `src` as fits; returns how many bytes were taken. */
  append(src: Uint8Array): number {
    const n = Math.min(src.length, this.room);
    if (n === 0) return 0;
    this.ensure(this.fill + n);
    this.buf.set(n === src.length ? src : src.subarray(0, n), this.fill);
    this.fill += n;
    return n;
  }

  /** The gathered bytes (a view, valid until the next append or reset). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.fill);
  }

  reset(): void {
    this.fill = 0;
  }

  private ensure(size: number): void {
    if (size <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(
      Math.min(this.limit, Math.max(size, this.buf.length * 2, 256 * 1024)),
    );
    this.buf.copy(grown, 0, 0, this.fill);
    this.buf = grown;
  }
}
