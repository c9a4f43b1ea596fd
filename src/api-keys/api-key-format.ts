import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'ak_';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KEY_LENGTH = 32;
export const API_KEY_PATTERN = /^ak_[A-Za-z0-9]{32}$/;

/** `ak_` and 32 characters drawn uniformly from [A-Za-z0-9] (about 190 bits). */
export function generateApiKey(): string {
  let out = '';
  while (out.length < KEY_LENGTH) {
    for (const b of randomBytes(64)) {
      // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
      if (b < 248 && out.length < KEY_LENGTH) out += ALPHABET[b % 62];
    }
  }
  return API_KEY_PREFIX + out;
}

export function looksLikeApiKey(s: string): boolean {
  return API_KEY_PATTERN.test(s);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** What listings show of a key: its prefix and first characters. */
export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 6);
}
