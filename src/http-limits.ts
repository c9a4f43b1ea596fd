import type { Server } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { HttpLimitsConfig } from './config/config.js';

const UPLOAD_PATH = /^\/v2\/.+\/blobs\/uploads(?:\/|$)/;

/**
 * How a node bounds slow and idle clients:
 * - headers must arrive within HTTP_HEADERS_TIMEOUT_SECONDS;
 * - a connection on which no byte moves either way for HTTP_IDLE_TIMEOUT_SECONDS is closed: a
 *   stalled request body (an upload that stops sending), a client that stops reading, or a
 *   kept-alive connection between requests;
 * - a request body other than a blob upload (a manifest, an API call) must arrive whole within
 *   HTTP_REQUEST_TIMEOUT_SECONDS. Upload bodies may take as long as they keep moving.
 * Node's own whole-request timeout is off: it would cut long uploads that are still moving.
 */
export function applyHttpLimits(server: Server, limits: HttpLimitsConfig): void {
  server.headersTimeout = limits.headersTimeoutSeconds * 1000;
  server.requestTimeout = 0;
  server.setTimeout(limits.idleTimeoutSeconds * 1000);
  // Between requests too: Node's own 5 s would close a kept-alive connection while a client backs
  // off before a retry (skopeo waits 1, 2, then 4 s), and a client that sends a PATCH on it just as
  // it closes fails with "broken pipe" (a streamed body cannot be sent again).
  server.keepAliveTimeout = limits.idleTimeoutSeconds * 1000;
}

/** Express middleware: the body deadline of HTTP_REQUEST_TIMEOUT_SECONDS (not for uploads). */
export function bodyDeadline(limits: HttpLimitsConfig) {
  const ms = limits.requestTimeoutSeconds * 1000;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.complete || UPLOAD_PATH.test(req.path)) return next();
    const timer = setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    res.once('close', clear);
    next();
  };
}

/**
 * Turns the idle timeout off once the request body has arrived, until the response is sent: the
 * server may work a while without sending a byte (reading an upload back to hash it, publishing
 * it), which is not the client being idle.
 */
export function suspendIdleTimeout(req: Request, res: Response): void {
  const socket = req.socket;
  const idle = socket.timeout ?? 0;
  let suspended = false;
  const suspend = () => {
    if (res.writableEnded || socket.destroyed) return;
    suspended = true;
    socket.setTimeout(0);
  };
  const restore = () => {
    if (suspended && !socket.destroyed) socket.setTimeout(idle);
  };
  if (req.complete) suspend();
  else req.once('end', suspend);
  res.once('finish', restore);
  res.once('close', restore);
}
