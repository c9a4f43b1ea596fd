import { describe, expect, it } from '@jest/globals';
import {
  type ArgumentsHost,
  BadRequestException,
  ConflictException,
  HttpException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { API_ERROR_CODES, apiError, defaultApiErrorCode } from '../../src/common/api-error.js';
import { HttpErrorFilter, isRegistryPath } from '../../src/common/http-error.filter.js';
import {
  findBadText,
  isBadText,
  MalformedRequestError,
  rejectMalformedText,
} from '../../src/common/text-input.js';
import { RegistryErrorFilter } from '../../src/registry/registry-error.filter.js';
import { RegistryError } from '../../src/registry/errors.js';
import { StorageError } from '../../src/storage/storage-driver.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Runs the global filter on `exception` for a request to `url` and returns what it answered. */
function answer(exception: unknown, url: string, method = 'GET'): Answer {
  const out: Answer = { status: 0, headers: {}, body: undefined };
  const res = {
    headersSent: false,
    setHeader: (k: string, v: string | number) => (out.headers[k.toLowerCase()] = String(v)),
    status(s: number) {
      out.status = s;
      return res;
    },
    type: () => res,
    send: (text: string) => (out.body = JSON.parse(text)),
    end: () => undefined,
    destroy: () => undefined,
  };
  const req = { method, url, originalUrl: url };
  const host = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ArgumentsHost;
  new HttpErrorFilter(new RegistryErrorFilter()).catch(exception, host);
  return out;
}

const dbError = (code: string) =>
  new QueryFailedError(
    'INSERT INTO users VALUES ($1)',
    ['$argon2id$v=19$secret'],
    Object.assign(new Error(`e ${code}`), { code }),
  );

describe('management API errors carry a code', () => {
  it.each([
    [
      'new BadRequestException([name must be a string])',
      400,
      'VALIDATION_FAILED',
      new BadRequestException(['name must be a string']),
    ],
    [
      'new NotFoundException(user x not found)',
      404,
      'NOT_FOUND',
      new NotFoundException('user "x" not found'),
    ],
    ['new ConflictException(taken)', 409, 'CONFLICT', new ConflictException('taken')],
    [
      'new HttpException(too many, 429)',
      429,
      'TOO_MANY_REQUESTS',
      new HttpException('too many', 429),
    ],
    [
      'apiError(409, LAST_OWNER, an organization needs at least one',
      409,
      'LAST_OWNER',
      apiError(409, 'LAST_OWNER', 'an organization needs at least one owner'),
    ],
    ['dbError(23505)', 409, 'CONFLICT', dbError('23505')],
    ['dbError(23001)', 409, 'CONFLICT', dbError('23001')],
    ['dbError(22021)', 400, 'VALIDATION_FAILED', dbError('22021')],
    ['dbError(22003)', 400, 'VALIDATION_FAILED', dbError('22003')],
    ['dbError(57P01)', 503, 'UNAVAILABLE', dbError('57P01')],
    ['dbError(40001)', 503, 'UNAVAILABLE', dbError('40001')],
    ['dbError(57014)', 503, 'UNAVAILABLE', dbError('57014')],
    [
      'new StorageError(bucket unreachable, ECONNREFUSED)',
      503,
      'UNAVAILABLE',
      new StorageError('bucket unreachable', 'ECONNREFUSED'),
    ],
    ['new Error(a bug)', 500, 'INTERNAL_ERROR', new Error('a bug')],
  ])('%s → %i %s', (_label, status, code, exception) => {
    const a = answer(exception, '/api/v1/users');
    expect(a.status).toBe(status);
    expect(a.body).toMatchObject({ statusCode: status, code, error: expect.any(String) });
    expect(Object.keys(API_ERROR_CODES)).toContain((a.body as { code: string }).code);
    expect(JSON.stringify(a.body)).not.toContain('argon2');
    if (status === 503) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('sets Retry-After from an exception that knows it (the sign-in limit)', () => {
    const limited = Object.assign(
      new HttpException({ statusCode: 429, message: 'slow down' }, 429),
      {
        retryAfterSeconds: 42,
      },
    );
    const a = answer(limited, '/api/v1/auth/login', 'POST');
    expect(a.headers['retry-after']).toBe('42');
    expect(a.body).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
  });

  it('leaves bodies of their own alone (token endpoint, health report)', () => {
    const oauth = new HttpException({ error: 'invalid_grant', error_description: 'no' }, 401);
    expect(answer(oauth, '/api/v1/auth/token', 'POST').body).toEqual({
      error: 'invalid_grant',
      error_description: 'no',
    });
    const health = new ServiceUnavailableException({ status: 'down', database: 'down' });
    expect(answer(health, '/api/v1/health').body).toEqual({ status: 'down', database: 'down' });
  });

  it("apiError() is Nest's exception of its status, so callers' instanceof checks hold", () => {
    const e = apiError(409, 'NAME_TAKEN', 'taken');
    expect(e).toBeInstanceOf(ConflictException);
    expect(e.getResponse()).toEqual({
      statusCode: 409,
      message: 'taken',
      error: 'Conflict',
      code: 'NAME_TAKEN',
    });
    expect(apiError(404, 'NOT_FOUND', 'x')).toBeInstanceOf(NotFoundException);
    expect(apiError(429, 'TOO_MANY_REQUESTS', 'x', { retryAfterSeconds: 3 })).toMatchObject({
      retryAfterSeconds: 3,
    });
  });

  it('has a generic code for every status', () => {
    for (const s of [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503])
      expect(Object.keys(API_ERROR_CODES)).toContain(defaultApiErrorCode(s));
  });
});

describe('registry errors stay in the OCI format', () => {
  const code = (a: Answer) => (a.body as { errors: { code: string }[] }).errors[0].code;

  it.each([
    [
      'new RegistryError(NAME_UNKNOWN, no)',
      404,
      'NAME_UNKNOWN',
      new RegistryError('NAME_UNKNOWN', 'no'),
    ],
    ['dbError(57P01)', 503, 'UNAVAILABLE', dbError('57P01')],
    ['dbError(40P01)', 503, 'UNAVAILABLE', dbError('40P01')],
    ['dbError(23503)', 503, 'UNAVAILABLE', dbError('23503')],
    ['dbError(22021)', 400, 'UNSUPPORTED', dbError('22021')],
    [
      'new MalformedRequestError(path, bad)',
      400,
      'NAME_INVALID',
      new MalformedRequestError('path', 'bad'),
    ],
    [
      'new MalformedRequestError(query, bad)',
      400,
      'UNSUPPORTED',
      new MalformedRequestError('query', 'bad'),
    ],
    [
      'new BadRequestException(Failed to decode, { cause: new URIEr',
      400,
      'NAME_INVALID',
      new BadRequestException('Failed to decode', { cause: new URIError('x') }),
    ],
    ['new HttpException(too large, 413)', 413, 'SIZE_INVALID', new HttpException('too large', 413)],
    ['new Error(a bug)', 500, 'UNKNOWN', new Error('a bug')],
  ])('%s → %i %s', (_label, status, expected, exception) => {
    const a = answer(exception, '/v2/alice/app/tags/list?last=x');
    expect(a.status).toBe(status);
    expect(code(a)).toBe(expected);
    expect(a.headers['docker-distribution-api-version']).toBe('registry/2.0');
    if (status === 503) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.stringify(a.body)).not.toContain('argon2');
  });

  it('knows which paths are the registry', () => {
    expect(isRegistryPath('/v2')).toBe(true);
    expect(isRegistryPath('/v2/')).toBe(true);
    expect(isRegistryPath('/v2?x')).toBe(true);
    expect(isRegistryPath('/v2/_catalog')).toBe(true);
    expect(isRegistryPath('/v22')).toBe(false);
    expect(isRegistryPath('/api/v1/v2')).toBe(false);
  });
});

describe('text the database cannot store', () => {
  it.each([
    ['plain', false],
    ['ünïcödé 🚀', false],
    ['a\u0000b', true],
    ['\ud800', true],
    ['x\udc00', true],
    ['\ud83d\ude80', false],
  ])('%j bad: %s', (s, bad) => expect(isBadText(s)).toBe(bad));

  it('finds the first bad string anywhere in a body, keys included', () => {
    expect(findBadText({ a: 'ok', b: ['x', 'y\u0000'] }, '')).toBe('b[1]');
    expect(findBadText({ a: { ['k\u0000']: 1 } }, '')).toBe('a (a key)');
    expect(findBadText({ a: 1, b: null, c: true }, '')).toBeUndefined();
    expect(findBadText('x\u0000', 'username')).toBe('username');
  });

  it.each([
    ['/v2/a/tags/list?last=%00%ff', 'query'],
    ['/v2/a/tags/list?last=%ff', 'query'],
    ['/v2/a/tags/list?last=%ZZ', 'query'],
    ['/api/v1/users?q=a%00', 'query'],
    ['/api/v1/users?%00=1', 'query'],
    ['/v2/a%ZZ/tags/list', 'path'],
    ['/api/v1/users/a%00b', 'path'],
    ['/api/v1/users/%C0%80', 'path'],
  ])('%s is refused (%s)', (url, part) => {
    let err: unknown;
    rejectMalformedText({ originalUrl: url } as never, {} as never, (e?: unknown) => (err = e));
    expect(err).toBeInstanceOf(MalformedRequestError);
    expect((err as MalformedRequestError).part).toBe(part);
  });

  it.each([
    '/v2/a/tags/list?last=b&n=2',
    '/api/v1/users?q=%C3%BC+x&page=2',
    '/v2/',
    '/api/v1/repos?q=',
  ])('%s passes', (url) => {
    let called = false;
    let err: unknown;
    rejectMalformedText({ originalUrl: url } as never, {} as never, (e?: unknown) => {
      called = true;
      err = e;
    });
    expect(called).toBe(true);
    expect(err).toBeUndefined();
  });
});
