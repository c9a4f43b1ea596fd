// Pure helpers of the web UI (no DOM, no React): unit-tested by test/unit/web-format.spec.ts.

/** Bytes as people read them: 0 B, 1.5 KiB, 12.3 MiB (binary units, as the registry counts). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** "3 minutes ago", "2 days ago"; `now` is passed for tests. */
export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '–';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const steps: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
    [2592000, 'month'],
    [31536000, 'year'],
  ];
  let unit = steps[0];
  for (const step of steps) if (s >= step[0] * 0.75) unit = step;
  const n = Math.max(1, Math.round(s / unit[0]));
  return `${n} ${unit[1]}${n === 1 ? '' : 's'} ago`;
}

/** A digest shortened for tables: sha256:0123456789ab. */
export function shortDigest(digest: string): string {
  const i = digest.indexOf(':');
  return i < 0 ? digest.slice(0, 12) : digest.slice(0, i + 13);
}

/**
 * Where to go after signing in: only a path on this site (no scheme, no `//host`, no backslash
 * tricks), and never back to the sign-in or registration page.
 */
export function safeReturnTo(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/';
  if (/^\/(sign-in|register)(\/|\?|$)/.test(next)) return '/';
  return next;
}

/** The host (and port) clients pull from: the server's public address without its scheme. */
export function registryHost(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  }
}

export function pullCommand(origin: string, repository: string, tag?: string): string {
  return `docker pull ${registryHost(origin)}/${repository}${tag ? `:${tag}` : ''}`;
}

/** An API error body (`{message, code}`) in plain words. */
export function describeApiError(body: unknown, status?: number): string {
  if (body && typeof body === 'object' && 'message' in body) {
    const m = (body as { message: unknown }).message;
    if (Array.isArray(m) && m.length) return m.map(String).join('; ');
    if (typeof m === 'string' && m) return m.charAt(0).toUpperCase() + m.slice(1);
  }
  if (status === 401) return 'You need to sign in again.';
  if (status === 403) return 'You may not do this.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many requests: wait a moment and try again.';
  if (status && status >= 500) return 'The server could not do this right now; try again.';
  return 'Something went wrong.';
}

/** "linux/amd64", "linux/arm/v7" from an OCI platform object. */
export function platformName(p: { os?: string; architecture?: string; variant?: string }): string {
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}
