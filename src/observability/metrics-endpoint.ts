import express, { type NextFunction, type Request, type Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { ObservedRequest } from './http-observer.js';
import { askPrimary, isClusterWorker } from '../cluster/cluster.js';
import { metricsRegistry } from './metrics.js';

export interface MetricsExposure {
  /** Bearer token a scrape must send; undefined: none asked. */
  token?: string;
  /** host:port of a separate plain-HTTP listener serving only /metrics. */
  address?: { host: string; port: number };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m !== null && timingSafeEqual(digest(m[1]), expected);
}

function refuse(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ statusCode: status, code, message });
}

/**
 * `GET /metrics`. On the public port it answers only when METRICS_TOKEN is set, and then only to
 * `Authorization: Bearer <token>`; without a token it is 404 there (the figures are served on
 * METRICS_ADDRESS, when set, for a scraper that reaches that address only). On METRICS_ADDRESS the
 * token is asked too when it is set.
 */
/**
 * The node's figures: this process's, or with several workers the sum over all of them, which the
 * primary process collects (src/cluster/cluster.ts).
 */
function nodeMetrics(): Promise<string> {
  return isClusterWorker() ? askPrimary<string>('metrics', null) : metricsRegistry.metrics();
}

function metricsHandler(expose: MetricsExposure, publicPort: boolean) {
  const expected = expose.token === undefined ? undefined : digest(expose.token);
  return (req: Request, res: Response): void => {
    (req as ObservedRequest).routeLabel = '/metrics';
    if (publicPort && expected === undefined) {
      return refuse(
        res,
        404,
        'NOT_FOUND',
        'metrics are not served on this port: set METRICS_TOKEN, or scrape METRICS_ADDRESS',
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'metrics are read with GET');
    }
    if (expected !== undefined && !bearerMatches(req.headers.authorization, expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      return refuse(res, 401, 'UNAUTHORIZED', 'a bearer token (METRICS_TOKEN) is required');
    }
    nodeMetrics().then(
      (text) => {
        res.setHeader('Content-Type', metricsRegistry.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.status(200).end(req.method === 'HEAD' ? undefined : text);
      },
      () => refuse(res, 500, 'INTERNAL_ERROR', 'metrics could not be collected'),
    );
  };
}

/** The /metrics route of the public port (an Express middleware mounted at `/metrics`). */
export function publicMetricsRoute(expose: MetricsExposure) {
  const handle = metricsHandler(expose, true);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path !== '/' && req.path !== '') return next();
    handle(req, res);
  };
}

/** Starts the separate metrics listener (METRICS_ADDRESS); resolves once it listens. */
export async function startMetricsListener(
  expose: MetricsExposure & { address: { host: string; port: number } },
): Promise<Server> {
  const app = express();
  app.set('x-powered-by', false);
  app.set('etag', false);
  const handle = metricsHandler(expose, false);
  app.all('/metrics', handle);
  app.use((_req: Request, res: Response) => refuse(res, 404, 'NOT_FOUND', 'only /metrics here'));
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(expose.address.port, expose.address.host, () => resolve());
  });
  return server;
}
