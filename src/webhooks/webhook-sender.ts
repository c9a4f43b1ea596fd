import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkTargetUrl, firstNonPublic } from './webhook-targets.js';

/** What one attempt to deliver came to: a status code, or an error (refused, network, timeout). */
export interface AttemptResult {
  startedAt: Date;
  durationMs: number;
  status?: number;
  error?: string;
}

/** `sha256=<hex HMAC-SHA256 of the raw body keyed with the secret>`. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A DNS lookup that refuses a name resolving to any non-public address (unless allowed): the
 * connection then goes to an address that was just checked, so a name that resolved to a public
 * address when the webhook was saved cannot be re-pointed at an internal one (DNS rebinding).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = allowPrivate ? null : firstNonPublic(addresses.map((a) => a.address));
      if (bad) {
        return callback(
          Object.assign(
            new Error(`refused: ${hostname} resolves to ${bad.address}, a ${bad.reason} address`),
            { code: 'EREFUSEDTARGET' },
          ),
          '',
          0,
        );
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      if (!addresses.length) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/**
 * POSTs one delivery. Resolves (never rejects) with the status code or the error; redirects are
 * not followed (a 3xx is a failure); the response body is read and dropped.
 */
export function sendDelivery(
  target: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<AttemptResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const done = (r: { status?: number; error?: string }): AttemptResult => ({
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    ...r,
  });
  const check = checkTargetUrl(target, opts.allowPrivate);
  if (!check.ok) return Promise.resolve(done({ error: `refused: ${check.reason}` }));
  const send = check.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: { status?: number; error?: string }) => {
      if (settled) return;
      settled = true;
      resolve(done(r));
    };
    const req = send(
      check.url,
      {
        method: 'POST',
        agent: false,
        lookup: guardedLookup(opts.allowPrivate),
        headers: {
          ...headers,
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(body)),
        },
      },
      (res: IncomingMessage) => {
        res.on('error', () => undefined);
        res.resume();
        finish({ status: res.statusCode ?? 0 });
      },
    );
    const timer = setTimeout(() => {
      const error = `timed out after ${opts.timeoutMs / 1000} s`;
      finish({ error });
      req.destroy();
    }, opts.timeoutMs);
    // The timer also ends a response body that keeps dribbling after its status arrived.
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ error: (e.code && !e.message.includes(e.code) ? `${e.code}: ` : '') + e.message }),
    );
    req.end(body);
  });
}
