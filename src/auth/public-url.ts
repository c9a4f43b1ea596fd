import type { Request } from 'express';

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function first(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s?.split(',')[0].trim() || undefined;
}

/**
 * The base URL clients reach this node at: PUBLIC_URL when configured, else derived from the
 * request (X-Forwarded-Proto/-Host, then Host). Values that are not a plain host are ignored so
 * that headers cannot inject text into the WWW-Authenticate challenge.
 */
export function publicBaseUrl(configured: string | undefined, req: Request): string {
  if (configured) return configured;
  const protoHeader = first(req.headers['x-forwarded-proto'])?.toLowerCase();
  const proto =
    protoHeader === 'https' || protoHeader === 'http'
      ? protoHeader
      : req.protocol === 'https'
        ? 'https'
        : 'http';
  const candidates = [first(req.headers['x-forwarded-host']), first(req.headers.host)];
  const host = candidates.find((h) => h !== undefined && HOST.test(h)) ?? 'localhost';
  return `${proto}://${host}`;
}
