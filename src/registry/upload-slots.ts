import { uploadsInProgress } from '../observability/metrics.js';
import { RegistryError } from './errors.js';

/** Seconds a client refused for too many concurrent uploads is asked to wait. */
export const UPLOAD_SLOT_RETRY_AFTER = 5;

/**
 * Bounds the upload bodies one node streams at once, in all and per user (or per client address
 * for callers without an account). Past either bound the request is refused at once with 429
 * TOOMANYREQUESTS and Retry-After, before any byte is read, so a client that opens many slow
 * uploads cannot tie up the node's sockets, memory or storage writes.
 */
export class UploadSlots {
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerKey: number,
  ) {}

  /** Takes a slot for `key`; returns the function that gives it back (safe to call twice). */
  acquire(key: string): () => void {
    const mine = this.perKey.get(key) ?? 0;
    if (mine >= this.maxPerKey) {
      throw tooMany(`too many concurrent uploads for this account (at most ${this.maxPerKey})`);
    }
    if (this.total >= this.max) {
      throw tooMany(`this node is receiving too many uploads (at most ${this.max})`);
    }
    this.total += 1;
    uploadsInProgress.inc();
    this.perKey.set(key, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      uploadsInProgress.dec();
      const left = (this.perKey.get(key) ?? 1) - 1;
      if (left > 0) this.perKey.set(key, left);
      else this.perKey.delete(key);
    };
  }

  get inUse(): number {
    return this.total;
  }

  inUseBy(key: string): number {
    return this.perKey.get(key) ?? 0;
  }
}

function tooMany(message: string): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', message, undefined, 429, {
    'Retry-After': String(UPLOAD_SLOT_RETRY_AFTER),
  });
}
