import { createSHA256, createSHA512, type IHasher } from 'hash-wasm';
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

/**
 * An incremental hash whose state can be saved to the database between requests, so that the next
 * chunk of an upload can be hashed on any node without re-reading what was already received.
 */
export class ResumableHash {
  private constructor(
    readonly algorithm: DigestAlgorithm,
    private readonly hasher: IHasher,
  ) {}

  static async create(
    algorithm: DigestAlgorithm,
    state?: Uint8Array | null,
  ): Promise<ResumableHash> {
    const hasher = algorithm === 'sha256' ? await createSHA256() : await createSHA512();
    hasher.init();
    if (state && state.length) hasher.load(state);
    return new ResumableHash(algorithm, hasher);
  }

  update(chunk: Uint8Array): void {
    this.hasher.update(chunk);
  }

  save(): Buffer {
    return Buffer.from(this.hasher.save());
  }

  digest(): string {
    return `${this.algorithm}:${this.hasher.digest('hex')}`;
  }
}

/** Digest of a small in-memory document such as a manifest. */
export async function digestOf(algorithm: DigestAlgorithm, bytes: Uint8Array): Promise<string> {
  const h = await ResumableHash.create(algorithm);
  h.update(bytes);
  return h.digest();
}
