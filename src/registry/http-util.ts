import type { Request } from 'express';
import type { ByteRange } from '../storage/storage-driver.js';
import { RegistryError } from './errors.js';

export function contentLength(req: Request): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new RegistryError('SIZE_INVALID', 'invalid Content-Length');
  return Number(raw);
}

export function hasBody(req: Request): boolean {
  const len = contentLength(req);
  return (len !== undefined && len > 0) || req.headers['transfer-encoding'] !== undefined;
}

/** Reads a small body (a manifest) whole, refusing more than `max` bytes. */
export async function readSmallBody(req: Request, max: number): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > max) {
    throw new RegistryError(
      'SIZE_INVALID',
      `manifest larger than ${max} bytes`,
      { limit: max },
      413,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      req.resume();
      throw new RegistryError(
        'SIZE_INVALID',
        `manifest larger than ${max} bytes`,
        { limit: max },
        413,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses an upload chunk's Content-Range ("start-end", optionally with a "bytes" prefix). */
export function parseContentRange(value: string | undefined): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(value.trim());
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', 'invalid Content-Range', undefined, 416);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start)
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'invalid Content-Range', undefined, 416);
  return { start, end };
}

export type RangeResult =
  { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/** Interprets a Range request header (a single byte range) against a blob of `size` bytes. */
export function parseRangeHeader(value: string | undefined, size: number): RangeResult {
  if (value === undefined) return { kind: 'full' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' }; // malformed or multi-range: ignore
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end } };
}

/** Parses the `n` pagination parameter. */
export function parsePageSize(raw: unknown, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', 'n must be a non-negative integer', {
      n: raw,
    });
  }
  return Math.min(Number(raw), max);
}

export function queryList(raw: unknown): string[] {
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
}

export function queryString(raw: unknown): string | undefined {
  if (Array.isArray(raw)) return typeof raw[0] === 'string' ? raw[0] : undefined;
  return typeof raw === 'string' ? raw : undefined;
}
