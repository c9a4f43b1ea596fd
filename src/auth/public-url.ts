import type { Request } from 'express';

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The base URL clients reach this node at: PUBLIC_URL when configured, else derived from the
 * request. X-Forwarded-Proto and X-Forwarded-Host are believed only from a proxy that TRUST_PROXY
 * trusts (Express's `req.protocol` and `req.host` apply that setting to the connection's peer);
 * otherwise they could point the token realm of the WWW-Authenticate challenge anywhere. Values
 * that are not a plain host are ignored so that headers cannot inject text into the challenge.
 */
export function publicBaseUrl(configured: string | undefined, req: Request): string {
  if (configured) return configured;
  const protocol = req.protocol?.toLowerCase();
  const proto = protocol === 'https' || protocol === 'http' ? protocol : 'http';
  const candidates = [req.host, first(req.headers.host)];
  const host = candidates.find((h) => h !== undefined && HOST.test(h)) ?? 'localhost';
  return `${proto}://${host}`;
}

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() || undefined;
}
