import type { Request, Response } from 'express';

/**
 * The refresh token as an httpOnly cookie, for browsers (the web UI): scripts in the page cannot
 * read it, it is sent only to the auth endpoints (Path) and only from this site (SameSite=Strict,
 * so another site cannot make the browser refresh or end the session), and only over HTTPS when
 * the request came over HTTPS.
 */
export const REFRESH_COOKIE = 'aerugo_refresh';
const COOKIE_PATH = '/api/v1/auth';

/** The refresh cookie's value, if the request carries one. */
export function refreshCookieOf(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(0, i).trim() !== REFRESH_COOKIE) continue;
    const value = part.slice(i + 1).trim();
    // Refresh tokens are URL-safe base64 with dots: anything else is no token.
    return /^[A-Za-z0-9._~-]{1,200}$/.test(value) ? value : undefined;
  }
  return undefined;
}

function attributes(req: Request): string {
  return `Path=${COOKIE_PATH}; HttpOnly; SameSite=Strict${req.secure ? '; Secure' : ''}`;
}

export function setRefreshCookie(
  req: Request,
  res: Response,
  token: string,
  maxAgeSeconds: number,
): void {
  res.append(
    'Set-Cookie',
    `${REFRESH_COOKIE}=${token}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; ${attributes(req)}`,
  );
}

export function clearRefreshCookie(req: Request, res: Response): void {
  res.append('Set-Cookie', `${REFRESH_COOKIE}=; Max-Age=0; ${attributes(req)}`);
}
