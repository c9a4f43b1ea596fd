import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
/** The spec's digest grammar: algorithm ":" encoded. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  digest: string;
}

export function isDigestAlgorithm(a: string): a is DigestAlgorithm {
  return a === 'sha256' || a === 'sha512';
}

/** Parses a digest, rejecting unknown algorithms and malformed encodings with DIGEST_INVALID. */
export function parseDigest(value: string): ParsedDigest {
  if (!DIGEST_GRAMMAR.test(value)) {
    throw new RegistryError('DIGEST_INVALID', 'invalid digest format', { digest: value });
  }
  const idx = value.indexOf(':');
  const algorithm = value.slice(0, idx);
  const hex = value.slice(idx + 1);
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError(
      'UNSUPPORTED',
      `unsupported digest algorithm "${algorithm}"`,
      {
        digest: value,
      },
      400,
    );
  }
  if (!new RegExp(`^[a-f0-9]{${HEX_LENGTH[algorithm]}}$`).test(hex)) {
    throw new RegistryError('DIGEST_INVALID', `invalid ${algorithm} digest`, { digest: value });
  }
  return { algorithm, hex, digest: value };
}

export function looksLikeDigest(ref: string): boolean {
  return ref.includes(':');
}

/** A streaming hash of one of the supported algorithms (native, node:crypto). */
export function createDigestHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** `algorithm:hex` of a finished hash. */
export function finishDigest(algorithm: DigestAlgorithm, hash: Hash): string {
  return `${algorithm}:${hash.digest('hex')}`;
}

/** Digest of a small in-memory document such as a manifest. */
export function digestOf(algorithm: DigestAlgorithm, bytes: Uint8Array): string {
  return finishDigest(algorithm, createHash(algorithm).update(bytes));
}

/** Digest of everything a stream yields (used when a digest was not computed as bytes arrived). */
export async function digestOfStream(
  algorithm: DigestAlgorithm,
  stream: AsyncIterable<Buffer>,
): Promise<{ digest: string; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    hash.update(chunk);
  }
  return { digest: finishDigest(algorithm, hash), size };
}
