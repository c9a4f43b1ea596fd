// Helpers shared by the identity, tenancy, swagger and skopeo-auth e2e suites: plain fetch only.
import { createHmac } from 'node:crypto';
import { basicHeader } from '../support/registry.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies; the tests check their shape
export type Json = any;

export const JWT_SECRET = 'e2e-known-secret-0123456789abcdef-0123456789';
export const SERVICE = 'aerugo';
export const ADMIN = { username: 'sysadmin', password: 'sysadmin-pass-1' };

export interface ApiResult<T = Json> {
  status: number;
  body: T;
  headers: Headers;
}

export type Auth =
  | { bearer: string }
  | { basic: [string, string] }
  | { apiKey: string }
  | { headers: Record<string, string> }
  | undefined;

export { basicHeader };

export function authHeaders(auth: Auth): Record<string, string> {
  if (!auth) return {};
  if ('bearer' in auth) return { authorization: `Bearer ${auth.bearer}` };
  if ('basic' in auth) return { authorization: basicHeader(...auth.basic) };
  if ('apiKey' in auth) return { 'x-api-key': auth.apiKey };
  return auth.headers;
}

/** A request to the management API (`/api/v1` is prepended to paths starting with `/`). */
export async function api<T = Json>(
  base: string,
  method: string,
  path: string,
  opts: { auth?: Auth; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResult<T>> {
  const url = path.startsWith('http') ? path : `${base}/api/v1${path}`;
  const res = await fetch(url, {
    method,
    headers: {
      ...authHeaders(opts.auth),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.headers ?? {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    redirect: 'manual',
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** Like api() but fails the test on an unexpected status. */
export async function ok<T = Json>(
  base: string,
  method: string,
  path: string,
  opts: { auth?: Auth; body?: unknown; expect?: number } = {},
): Promise<T> {
  const r = await api<T>(base, method, path, opts);
  const want = opts.expect ?? (method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200);
  if (r.status !== want)
    throw new Error(
      `${method} ${path}: expected ${want}, got ${r.status} ${JSON.stringify(r.body)}`,
    );
  return r.body;
}

export interface TestUser {
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export async function registerAndLogin(
  base: string,
  username: string,
  password = `${username}-password-1`,
): Promise<TestUser> {
  await ok(base, 'POST', '/auth/register', { body: { username, password } });
  return login(base, username, password);
}

export async function login(base: string, username: string, password: string): Promise<TestUser> {
  const t = await ok(base, 'POST', '/auth/login', { body: { username, password }, expect: 200 });
  return { username, password, accessToken: t.accessToken, refreshToken: t.refreshToken };
}

/** GET /auth/token (the Docker token flow); returns the status and, on success, the token. */
export async function registryToken(
  base: string,
  scopes: string[],
  auth?: Auth,
): Promise<{ status: number; token?: string; body: Json }> {
  const q = new URLSearchParams({ service: SERVICE });
  for (const s of scopes) q.append('scope', s);
  const res = await fetch(`${base}/auth/token?${q}`, { headers: authHeaders(auth) });
  const body: Json = await res.json().catch(() => undefined);
  return { status: res.status, token: res.ok ? body.token : undefined, body };
}

function b64url(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}

/** An HS256 JWT signed with a known secret (to forge expired tokens the server must refuse). */
export function signJwt(payload: Record<string, unknown>, secret = JWT_SECRET): string {
  const head = b64url({ alg: 'HS256', typ: 'JWT' });
  const body = b64url(payload);
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export function decodeJwt(token: string): Record<string, Json> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** The claims of a real token moved into the past: issued two hours ago, expired an hour ago. */
export function expiredCopy(token: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = decodeJwt(token);
  return signJwt({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
}

/** The same claims re-signed with a fresh expiry: proves that expiry alone makes the difference. */
export function freshCopy(token: string): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = decodeJwt(token);
  return signJwt({ ...claims, iat: now, nbf: now, exp: now + 600 });
}

export async function registryErrorCode(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}
