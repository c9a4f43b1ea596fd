import type { Readable } from 'node:stream';
import type { UploadBody } from './uploads.service.js';

/** At most this much of a body left unread after an error answer is read and thrown away… */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
/** …for at most this long; past either bound the connection is closed. */
export const DRAIN_MAX_MS = 10_000;

/**
 * The body of an upload request as the upload service reads it. When the service stops reading
 * early — a lost lease (`destroy`), a chunk longer than declared, a digest or quota refusal — the
 * rest of the body is read and thrown away (up to DRAIN_MAX_BYTES / DRAIN_MAX_MS) instead of the
 * connection being cut: the error answer goes out at once, and a client that is still writing its
 * body (Go's HTTP client: docker, skopeo, containerd) reads that answer instead of failing its
 * write with "broken pipe", so it can act on it (resume the upload, retry).
 *
 * The bytes are read with the stream's own async iterator; stopping only adds one promise race per
 * piece, so the upload's hot path is unchanged.
 */
export function uploadBody(
  req: Readable,
  limits: { maxBytes: number; maxMs: number } = { maxBytes: DRAIN_MAX_BYTES, maxMs: DRAIN_MAX_MS },
): UploadBody {
  let stopped: Error | undefined;
  let stop!: (e: Error) => void;
  const stopping = new Promise<never>((_, reject) => (stop = reject));
  stopping.catch(() => undefined);
  let inner: AsyncIterator<Buffer> | undefined;
  let finished = false;

  const release = (): void => {
    if (finished) return;
    finished = true;
    if (req.readableEnded || req.destroyed) return;
    // The bound starts now: a read still pending (a client that stopped sending) counts too.
    const timer = setTimeout(() => req.destroy(), limits.maxMs);
    timer.unref();
    const settled = (): void => clearTimeout(timer);
    req.once('close', settled).once('end', settled).once('error', settled);
    void Promise.resolve(inner?.return?.())
      .catch(() => undefined)
      .then(() => drain(req, limits.maxBytes));
  };

  return {
    [Symbol.asyncIterator](): AsyncIterator<Buffer> {
      inner ??= req.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
      const it = inner;
      return {
        next: async () => {
          if (stopped) throw stopped;
          const piece = it.next();
          piece.catch(() => undefined); // a read that loses the race may still fail (a reset)
          const r = await Promise.race([piece, stopping]);
          if (r.done) finished = true;
          return r;
        },
        return: async () => {
          release();
          return { done: true, value: undefined };
        },
      };
    },
    destroy(error?: Error): void {
      if (stopped || finished) return;
      stopped = error ?? new Error('upload body stopped');
      stop(stopped);
      release();
    },
  };
}

/** Reads and discards what is left of `req`; past `maxBytes` closes the connection. */
function drain(req: Readable, maxBytes: number): void {
  if (req.readableEnded || req.destroyed) return;
  let seen = 0;
  req.on('data', (piece: Buffer) => {
    seen += piece.length;
    if (seen > maxBytes) req.destroy();
  });
  req.resume();
}
