import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, access } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  blobKeyParts,
  type BlobStat,
  type ByteRange,
  type StorageDriver,
  type UploadDriverState,
} from './storage-driver.js';

const UPLOAD_ID = /^[a-zA-Z0-9-]{8,64}$/;

/** Blobs as files under `<root>/blobs/<alg>/<xx>/<hex>`; uploads as files under `<root>/uploads`. */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';

  constructor(private readonly root: string) {}

  private uploadPath(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new Error('invalid upload id');
    return join(this.root, 'uploads', uploadId);
  }

  private blobPath(digest: string): string {
    const { algorithm, hex, prefix } = blobKeyParts(digest);
    return join(this.root, 'blobs', algorithm, prefix, hex);
  }

  async startUpload(uploadId: string): Promise<UploadDriverState> {
    await mkdir(join(this.root, 'uploads'), { recursive: true });
    const fh = await open(this.uploadPath(uploadId), 'w');
    await fh.close();
    return {};
  }

  async writeUpload(
    uploadId: string,
    state: UploadDriverState,
    offset: number,
    data: AsyncIterable<Buffer>,
  ): Promise<{ state: UploadDriverState; written: number }> {
    const path = this.uploadPath(uploadId);
    // Drop whatever an interrupted earlier write left past the committed offset.
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(offset);
    } finally {
      await fh.close();
    }
    let written = 0;
    const counted = async function* () {
      for await (const chunk of data) {
        written += chunk.length;
        yield chunk;
      }
    };
    const out = createWriteStream(path, { flags: 'r+', start: offset });
    await pipeline(Readable.from(counted()), out);
    const sync = await open(path, 'r');
    try {
      await sync.sync();
    } finally {
      await sync.close();
    }
    return { state, written };
  }

  async commitUpload(
    uploadId: string,
    _state: UploadDriverState,
    digest: string,
    size: number,
  ): Promise<void> {
    const src = this.uploadPath(uploadId);
    const s = await stat(src);
    if (s.size !== size)
      throw new Error(`upload ${uploadId} holds ${s.size} bytes, expected ${size}`);
    const dest = this.blobPath(digest);
    await mkdir(join(dest, '..'), { recursive: true });
    // rename is atomic: readers see the whole blob or none of it.
    await rename(src, dest);
  }

  async abortUpload(uploadId: string): Promise<void> {
    await rm(this.uploadPath(uploadId), { force: true });
  }

  async statBlob(digest: string): Promise<BlobStat | null> {
    try {
      const s = await stat(this.blobPath(digest));
      return { size: s.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async readBlob(digest: string, range?: ByteRange): Promise<Readable> {
    const path = this.blobPath(digest);
    await access(path);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async deleteBlob(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async checkHealth(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root);
  }
}
