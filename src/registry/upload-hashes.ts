import type { Hash } from 'node:crypto';
import type { DigestAlgorithm } from './digest.js';

interface Entry {
  algorithm: DigestAlgorithm;
  /** Bytes the hash has consumed: the upload's committed offset when it was stored. */
  offset: number;
  hash: Hash;
}

/**
 * The running digests of the uploads this node has written, in memory (native hashes cannot be
 * saved). An entry is only used when it covers exactly the upload's committed bytes; any other
 * case — the previous chunk went to another node, the node restarted, a write failed — falls back
 * to reading the stored bytes once when the upload is completed. The common clients (docker,
 * podman, skopeo, containerd) send a blob as one request or one PATCH then a PUT, on one
 * connection, so they take the fast path.
 */
export class UploadHashes {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly max = 10_000) {}

  /** Removes and returns the entry for the upload when it covers exactly `offset` bytes. */
  take(uploadId: string, offset: number, algorithm: DigestAlgorithm): Hash | undefined {
    const e = this.entries.get(uploadId);
    this.entries.delete(uploadId);
    return e && e.offset === offset && e.algorithm === algorithm ? e.hash : undefined;
  }

  /** Records the hash of the upload's first `offset` bytes (after they were committed). */
  put(uploadId: string, algorithm: DigestAlgorithm, offset: number, hash: Hash): void {
    this.entries.delete(uploadId);
    this.entries.set(uploadId, { algorithm, offset, hash });
    // Oldest first: a Map iterates in insertion order.
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(k);
    }
  }

  forget(uploadId: string): void {
    this.entries.delete(uploadId);
  }

  get size(): number {
    return this.entries.size;
  }
}
