import type { NextFunction, Request, Response } from 'express';
import { performance } from 'node:perf_hooks';
import type { Logger as Pino } from 'pino';
import type { Principal } from '../auth/principal.js';
import { requestIdOf } from '../common/actor.js';
import type { RegistryRequest } from '../registry/registry-access.guard.js';
import { httpReceivedBytes, httpRequestDuration, httpSentBytes } from './metrics.js';

/** What the observer keeps on each request (the registry guard adds the route and the actor). */
export type ObservedRequest = RegistryRequest & {
  /** The request id: a sane `X-Request-Id` from the client, else generated. */
  id?: string;
  /** A route label set by handlers outside Nest's router (e.g. `/metrics`). */
  routeLabel?: string;
  user?: Principal | false | null;
};

/** The acting user (or robot) and API key of a request, for its log line. */
function whoOf(r: ObservedRequest): { user?: string; userId?: string; keyId?: string } {
  const actor = r.registryActor;
  if (actor) {
    const p = actor.principal;
    if (p.kind === 'user') return { user: p.username, userId: p.userId, keyId: actor.apiKeyId };
    if (p.kind === 'robot')
      return { user: `${p.namespace}+${p.name}`, userId: p.robotId, keyId: actor.apiKeyId };
    return {};
  }
  const p = r.user || undefined;
  if (p?.kind === 'user') return { user: p.username, userId: p.userId, keyId: p.apiKeyId };
  if (p?.kind === 'robot')
    return { user: `${p.namespace}+${p.name}`, userId: p.robotId, keyId: p.apiKeyId };
  return {};
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

type Area = 'registry' | 'api' | 'other';

function areaOf(path: string): Area {
  if (path === '/v2' || path.startsWith('/v2/')) return 'registry';
  if (path.startsWith('/api/v1/') || path === '/api/v1') return 'api';
  return 'other';
}

/**
 * The route label of a request: under /v2/ the registry route kind (`manifest`, `blob`,
 * `upload`…, or `invalid` when the path named no route), elsewhere the route template Nest
 * matched (`/api/v1/repos/:namespace/:name`), or `unmatched`. Never a name, tag or digest.
 */
function routeOf(req: ObservedRequest, area: Area): string {
  if (area === 'registry') return req.registryRoute?.kind ?? 'invalid';
  if (req.routeLabel) return req.routeLabel;
  const template = (req.route as { path?: unknown } | undefined)?.path;
  return typeof template === 'string' ? template : 'unmatched';
}

/** The repository a request addressed, for the log: the registry route's, or the API's path. */
function repositoryOf(req: ObservedRequest): string | undefined {
  const route = req.registryRoute;
  if (route && 'name' in route) return route.name;
  const p = req.params as Record<string, string | string[] | undefined> | undefined;
  if (typeof p?.namespace === 'string' && p.name !== undefined)
    return `${p.namespace}/${Array.isArray(p.name) ? p.name.join('/') : p.name}`;
  return undefined;
}

interface Series {
  duration: ReturnType<typeof httpRequestDuration.labels>;
  received: ReturnType<typeof httpReceivedBytes.labels>;
  sent: ReturnType<typeof httpSentBytes.labels>;
}

/**
 * The metric children of one label combination, made once: prom-client would otherwise hash the
 * labels on every observation. The combinations are bounded (areas × route kinds or templates ×
 * methods × statuses), so this map is too.
 */
const seriesByKey = new Map<string, Series>();

function seriesOf(area: Area, route: string, method: string, status: number): Series {
  const key = `${area} ${route} ${method} ${status}`;
  let s = seriesByKey.get(key);
  if (!s) {
    s = {
      duration: httpRequestDuration.labels(area, route, method, String(status)),
      received: httpReceivedBytes.labels(area, route),
      sent: httpSentBytes.labels(area, route),
    };
    seriesByKey.set(key, s);
  }
  return s;
}

/**
 * Measures and logs every request: one Prometheus observation (duration, bytes) and one access
 * log line when it ends. It runs first, before routing; the labels are read when the response is
 * done, once the registry guard or Nest's router has named the route. Per request it costs one
 * `close` listener, a UUID when the client sent no id, and the log object (only when `info` is
 * enabled). No header, query string or body is ever logged.
 */
/** Per connection: socket.bytesRead when its last request ended. */
const readMarks = new WeakMap<object, number>();

export function httpObserver(log: Pino) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const r = req as ObservedRequest;
    // One id per request, shared with the Actor every write records (common/actor.ts).
    const id = requestIdOf(req);
    r.id = id;
    res.setHeader('X-Request-Id', id);
    const socket = req.socket;
    // Body bytes: the declared length, else what the socket read since the previous request on it
    // ended (chunked bodies, counting their framing and this request's headers: a body that came
    // in the same read as the headers was already read when this request began). Sent: what the
    // socket was given meanwhile, headers included.
    const declared = Number(req.headers['content-length'] ?? -1);
    const readBefore = readMarks.get(socket) ?? 0;
    const writtenBefore = socket.bytesWritten;
    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const path = req.originalUrl;
      const q = path.indexOf('?');
      const area = areaOf(q < 0 ? path : path.slice(0, q));
      const route = routeOf(r, area);
      const method = METHODS.has(req.method) ? req.method : 'OTHER';
      const status = res.statusCode;
      const received = declared >= 0 ? declared : Math.max(0, socket.bytesRead - readBefore);
      readMarks.set(socket, socket.bytesRead);
      const sent = Math.max(0, socket.bytesWritten - writtenBefore);
      const series = seriesOf(area, route, method, status);
      series.duration.observe(seconds);
      if (received) series.received.inc(received);
      if (sent) series.sent.inc(sent);
      if (!log.isLevelEnabled('info')) return;
      const who = whoOf(r);
      log.info(
        {
          reqId: id,
          client: req.ip,
          user: who.user,
          userId: who.userId,
          keyId: who.keyId,
          method: req.method,
          area,
          route,
          repository: repositoryOf(r),
          status,
          ...(res.writableFinished ? {} : { aborted: true }),
          received,
          sent,
          ms: Math.round(seconds * 1e4) / 10,
        },
        'request',
      );
    });
    next();
  };
}
