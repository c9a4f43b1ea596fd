import { isUtf8 } from 'node:buffer';
import { looksLikeApiKey } from '../api-keys/api-key-format.js';

/** The credentials a request carries, told apart by their form (each picks one strategy). */
export type Credentials =
  | { kind: 'none' }
  | { kind: 'jwt'; token: string }
  | { kind: 'api-key'; key: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'invalid'; reason: string };

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `Authorization: Bearer ak_…` and `X-API-Key: ak_…` are API keys, any other bearer token is a
 * JWT, and `Authorization: Basic` carries a user name with a password or an API key.
 */
export function parseCredentials(
  headers: Record<string, string | string[] | undefined>,
): Credentials {
  const authorization = single(headers.authorization)?.trim();
  const apiKey = single(headers['x-api-key'])?.trim();
  if (authorization) {
    const m = /^(\S+)\s+(\S+)$/.exec(authorization);
    if (!m) return { kind: 'invalid', reason: 'malformed Authorization header' };
    const scheme = m[1].toLowerCase();
    const value = m[2];
    if (scheme === 'bearer')
      return value.startsWith('ak_')
        ? { kind: 'api-key', key: value }
        : { kind: 'jwt', token: value };
    if (scheme === 'basic') {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value))
        return { kind: 'invalid', reason: 'malformed Basic credentials' };
      const raw = Buffer.from(value, 'base64');
      const decoded = raw.toString('utf8');
      const i = decoded.indexOf(':');
      // Text the database could not compare (invalid UTF-8, NUL) is no credential at all.
      if (i <= 0 || !isUtf8(raw) || decoded.includes('\u0000'))
        return { kind: 'invalid', reason: 'malformed Basic credentials' };
      return { kind: 'basic', username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
    return { kind: 'invalid', reason: `unsupported authorization scheme "${m[1]}"` };
  }
  if (apiKey)
    return looksLikeApiKey(apiKey)
      ? { kind: 'api-key', key: apiKey }
      : { kind: 'invalid', reason: 'malformed API key' };
  return { kind: 'none' };
}
