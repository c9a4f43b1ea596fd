// The management API client: types generated from api/openapi.json (npm run build:web), so a
// changed endpoint breaks the UI's build. The access token lives in memory only; the refresh
// token is an httpOnly cookie the server sets (`refreshCookie`), which scripts cannot read. A 401
// refreshes once and retries; a failed refresh ends the session (the app then sends the user to
// sign in and back to where they were). Refreshes are serialized across the site's tabs (Web
// Locks), since each one rotates the cookie and a refresh token used twice ends the session.
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/openapi';
import { describeApiError } from './lib/format';

export type Schemas = components['schemas'];
export type User = Schemas['UserDto'];

export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; expired: boolean }
  | { status: 'signed-in'; user: User };

let state: SessionState = { status: 'loading' };
let accessToken: string | null = null;
const listeners = new Set<() => void>();

function setState(s: SessionState) {
  state = s;
  for (const l of listeners) l();
}

export const session = {
  get: () => state,
  subscribe(l: () => void) {
    listeners.add(l);
    return () => void listeners.delete(l);
  },
};

function storeTokens(t: Schemas['TokenPairDto']) {
  accessToken = t.accessToken;
}

function dropTokens() {
  accessToken = null;
}

/** Runs `fn` while holding the site-wide refresh lock (where the browser has Web Locks). */
function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? locks.request('aerugo-refresh', fn) : fn();
}

let refreshing: Promise<boolean> | null = null;

/** Exchanges the refresh token once for new tokens (concurrent callers share the exchange). */
function refreshTokens(): Promise<boolean> {
  refreshing ??= withRefreshLock(async () => {
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
      credentials: 'same-origin',
    }).catch(() => null);
    if (!res?.ok) {
      if (res && res.status < 500) dropTokens();
      return false;
    }
    storeTokens((await res.json()) as Schemas['TokenPairDto']);
    return true;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

const AUTH_PATHS = /\/api\/v1\/auth\/(login|refresh|register)$/;

async function authedFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  if (accessToken) input.headers.set('Authorization', `Bearer ${accessToken}`);
  const res = await fetch(input);
  if (res.status !== 401 || AUTH_PATHS.test(new URL(input.url).pathname)) return res;
  if (!(await refreshTokens())) {
    if (state.status === 'signed-in') {
      dropTokens();
      setState({ status: 'signed-out', expired: true });
    }
    return res;
  }
  retry.headers.set('Authorization', `Bearer ${accessToken}`);
  return fetch(retry);
}

export const api = createClient<paths>({
  baseUrl: typeof location === 'undefined' ? '' : location.origin,
  fetch: authedFetch,
});

/** An API error in plain words, with the server's status and `code`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The data of an openapi-fetch answer, or an ApiError with the server's message. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) {
    const code =
      r.error && typeof r.error === 'object' && 'code' in r.error
        ? String((r.error as { code: unknown }).code)
        : undefined;
    throw new ApiError(describeApiError(r.error, r.response.status), r.response.status, code);
  }
  return r.data as T;
}

async function loadMe(): Promise<void> {
  const me = unwrap(await api.GET('/api/v1/auth/me'));
  setState({ status: 'signed-in', user: me });
}

/** At start: resume the session of the refresh cookie, if there is one. */
export async function resumeSession(): Promise<void> {
  if (!(await refreshTokens())) {
    setState({ status: 'signed-out', expired: false });
    return;
  }
  await loadMe().catch(() => setState({ status: 'signed-out', expired: false }));
}

export async function signIn(username: string, password: string): Promise<void> {
  const tokens = unwrap(
    await api.POST('/api/v1/auth/login', { body: { username, password, refreshCookie: true } }),
  );
  storeTokens(tokens);
  await loadMe();
}

export async function signOut(): Promise<void> {
  // The server ends the session of the refresh cookie and clears the cookie.
  await api.POST('/api/v1/auth/logout', { body: {} }).catch(() => undefined);
  dropTokens();
  setState({ status: 'signed-out', expired: false });
}

/** Re-reads the signed-in user (after a profile change). */
export async function reloadMe(): Promise<void> {
  await loadMe();
}

/** Path parameters of a repository `ns/path/name`: namespace and the rest (percent-encoded by the client). */
export function repoParams(full: string): { namespace: string; name: string } {
  const i = full.indexOf('/');
  return { namespace: full.slice(0, i), name: full.slice(i + 1) };
}
