import type { FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';

/** Read size when serving a blob from a file. */
export const READ_CHUNK = 1024 * 1024;

/**
 * Read buffers kept between requests: `sendTo` borrows one or two per transfer and gives them
 * back. A blob served through fresh buffers allocates its whole size outside the V8 heap, which
 * makes V8 run full collections of the (much larger) heap as the bytes go by: that, more than the
 * copies, is what set a Node server's blob GET below a sendfile-based one.
 */
const POOL_MAX = 8;
const pool: Buffer[] = [];

function borrow(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK);
}

function giveBack(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/**
 * A blob file (or a byte range of it) as a Readable, which any consumer can read (each chunk a
 * fresh buffer), and which can also copy itself to a Writable with `sendTo`: two reused buffers,
 * the next read under way while the previous chunk is being written.
 */
export class BlobFileStream extends Readable {
  private pos: number;
  /** Exclusive; Infinity: up to the end of the file. */
  private readonly end: number;
  private fileClosed?: Promise<void>;

  constructor(
    private readonly file: FileHandle,
    range?: { start: number; end: number },
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.pos = range?.start ?? 0;
    this.end = range ? range.end + 1 : Infinity;
  }

  override _read(): void {
    const len = Math.min(READ_CHUNK, this.end - this.pos);
    if (len <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(len);
    this.file.read(buf, 0, len, this.pos).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) return void this.push(null);
        this.pos += bytesRead;
        this.push(bytesRead < len ? buf.subarray(0, bytesRead) : buf);
      },
      (e: Error) => this.destroy(e),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeFile().then(
      () => callback(error),
      (e: Error) => callback(error ?? e),
    );
  }

  private closeFile(): Promise<void> {
    this.fileClosed ??= this.file.close();
    return this.fileClosed;
  }

  /**
   * Writes what is left of the blob to `out` and ends it. Each buffer is reused only once `out`
   * reports its chunk written (handed to the socket), so no chunk is ever overwritten in flight.
   * Resolves when done or when `out` closed early; a read error destroys `out` and rejects.
   */
  async sendTo(out: Writable): Promise<void> {
    // The second buffer only when there is a second chunk (most blobs of an image are small).
    const buffers: Buffer[] = [];
    let gone = out.destroyed;
    const onClose = () => (gone = true);
    out.once('close', onClose);
    // The write of the previous chunk, settled when `out` is done with its buffer (or closed).
    let writing: Promise<boolean> = Promise.resolve(true);
    const write = (chunk: Buffer) =>
      new Promise<boolean>((resolve) => {
        if (gone) return resolve(false);
        const closed = () => resolve(false);
        out.once('close', closed);
        out.write(chunk, (e) => {
          out.removeListener('close', closed);
          resolve(!e);
        });
      });
    let inFlight = true;
    try {
      for (let i = 0; !gone; i++) {
        const len = Math.min(READ_CHUNK, this.end - this.pos);
        if (len <= 0) break;
        const buf = (buffers[i & 1] ??= borrow());
        const { bytesRead } = await this.file.read(buf, 0, len, this.pos);
        if (!(await writing)) break;
        if (bytesRead === 0) break;
        this.pos += bytesRead;
        writing = write(bytesRead < buf.length ? buf.subarray(0, bytesRead) : buf);
      }
      inFlight = !(await writing);
      if (!gone) out.end();
    } catch (e) {
      out.destroy();
      throw e;
    } finally {
      out.removeListener('close', onClose);
      // A buffer whose write never completed may still be referenced: it is not reused.
      if (!inFlight) for (const b of buffers) giveBack(b);
      this.destroy();
    }
  }
}

/** Whether a stream from a storage driver can copy itself with `sendTo`. */
export function canSend(stream: Readable): stream is BlobFileStream {
  return stream instanceof BlobFileStream;
}
