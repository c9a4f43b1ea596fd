import {
  type ArgumentMetadata,
  BadRequestException,
  Injectable,
  type PipeTransform,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { apiErrorBody } from './api-error.js';

/**
 * Text that PostgreSQL cannot store never reaches it: NUL characters (refused by `text`) and
 * unpaired UTF-16 surrogates (what invalid UTF-8 or a lone `\ud800` escape decodes to) are refused
 * with a 400 wherever a request carries text — the URL path and query string (checked for every
 * route by `rejectMalformedText`, before routing), JSON and form bodies (`isUtf8Body` and
 * `TextInputPipe`), and every `@Body()`, `@Query()` and `@Param()` value, keys included.
 */

// eslint-disable-next-line no-control-regex
const BAD_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `s` holds a NUL character or an unpaired surrogate. */
export function isBadText(s: string): boolean {
  return BAD_TEXT.test(s);
}

/** The path (`body.displayName`, `query.q`, `items[2]`) of the first bad string in `value`. */
export function findBadText(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return isBadText(value) ? path : undefined;
  if (depth > 32 || typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBadText(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (isBadText(k)) return `${path} (a key)`;
    const found = findBadText(v, path ? `${path}.${k}` : k, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Which part of a request was malformed (the registry answers path errors as NAME_INVALID). */
export type RequestPart = 'path' | 'query' | 'body';

/** 400: the request's text cannot be read (bad percent-encoding, invalid UTF-8, NUL). */
export class MalformedRequestError extends BadRequestException {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly part: RequestPart,
    message: string,
  ) {
    super(apiErrorBody(400, 'VALIDATION_FAILED', [message]));
  }
}

function badTextMessage(where: string): string {
  return `${where} must be valid UTF-8 text without NUL characters`;
}

/** Global pipe: refuses bad text in any body, query or path parameter value (before validation). */
@Injectable()
export class TextInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const root = metadata.type === 'body' ? '' : (metadata.data ?? '');
    const found = findBadText(value, root);
    if (found !== undefined) {
      const part: RequestPart = metadata.type === 'param' ? 'path' : metadata.type;
      throw new MalformedRequestError(part, badTextMessage(found || metadata.type));
    }
    return value;
  }
}

/** Decodes one percent-encoded URL component, or undefined when it is not valid UTF-8. */
function decode(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

/**
 * Express middleware for every route: the path and each query parameter must percent-decode to
 * valid UTF-8 without NUL characters. Runs before routing, so that Express never fails to decode
 * a route parameter (which it answers outside the registry's error format).
 */
export function rejectMalformedText(req: Request, _res: Response, next: NextFunction): void {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const decodedPath = decode(path);
  if (decodedPath === undefined || isBadText(decodedPath)) {
    return next(new MalformedRequestError('path', badTextMessage('the request path')));
  }
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const name = decode((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      const value = eq < 0 ? '' : decode(pair.slice(eq + 1).replace(/\+/g, ' '));
      if (name === undefined || value === undefined || isBadText(name) || isBadText(value)) {
        const shown =
          name !== undefined && !isBadText(name) ? `query parameter "${name}"` : 'the query string';
        return next(new MalformedRequestError('query', badTextMessage(shown)));
      }
    }
  }
  next();
}

/** `verify` option of the body parsers: a body that is not valid UTF-8 is refused with a 400. */
export function isUtf8Body(_req: Request, _res: Response, buf: Buffer): void {
  if (!isUtf8(buf)) {
    throw Object.assign(new Error('request body is not valid UTF-8'), { status: 400 });
  }
}
