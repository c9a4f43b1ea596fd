import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Request } from 'express';
import {
  createDigestHash,
  digestOf,
  digestOfStream,
  finishDigest,
  isDigestAlgorithm,
  looksLikeDigest,
  parseDigest,
} from '../../src/registry/digest.js';
import { RegistryError } from '../../src/registry/errors.js';
import {
  contentLength,
  hasBody,
  parseContentRange,
  parsePageSize,
  queryList,
  queryString,
  readSmallBody,
} from '../../src/registry/http-util.js';
import { parseManifest, resolveMediaType } from '../../src/registry/manifest.js';
import {
  assertRepositoryName,
  assertTag,
  isValidRepositoryName,
  isValidTag,
  MAX_NAME_LENGTH,
} from '../../src/registry/names.js';
import { parseRegistryPath } from '../../src/registry/routes.js';
import { atLeast, maxLevel, resolveLevel } from '../../src/repos/permissions.js';

/** The rules the mutation run found unpinned (npm run test:mutation), each stated once. */

function registryError(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    return e as RegistryError;
  }
  throw new Error('no error');
}

async function registryErrorOf(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RegistryError);
    return e as RegistryError;
  }
  throw new Error('no error');
}

function request(headers: Record<string, string>, chunks: string[] = []): Request {
  const r = Readable.from(chunks.map((c) => Buffer.from(c))) as unknown as Request;
  (r as unknown as { headers: Record<string, string> }).headers = headers;
  return r;
}

describe('request bodies', () => {
  it('Content-Length: absent, digits, or SIZE_INVALID', () => {
    expect(contentLength(request({}))).toBeUndefined();
    expect(contentLength(request({ 'content-length': '0' }))).toBe(0);
    expect(contentLength(request({ 'content-length': '1234' }))).toBe(1234);
    for (const bad of ['-1', '1.5', 'x1', '1x', '']) {
      const e = registryError(() => contentLength(request({ 'content-length': bad })));
      expect([e.code, e.message, e.status]).toEqual([
        'SIZE_INVALID',
        'invalid Content-Length',
        400,
      ]);
    }
  });

  it('a body is there when Content-Length is positive or the body is chunked', () => {
    expect(hasBody(request({}))).toBe(false);
    expect(hasBody(request({ 'content-length': '0' }))).toBe(false);
    expect(hasBody(request({ 'content-length': '1' }))).toBe(true);
    expect(hasBody(request({ 'transfer-encoding': 'chunked' }))).toBe(true);
    expect(hasBody(request({ 'content-length': '0', 'transfer-encoding': 'chunked' }))).toBe(true);
  });

  it('reads small bodies whole, up to exactly the limit', async () => {
    expect((await readSmallBody(request({}, ['ab', 'cd']), 4)).toString()).toBe('abcd');
    expect((await readSmallBody(request({}, []), 4)).length).toBe(0);
    expect((await readSmallBody(request({ 'content-length': '4' }, ['abcd']), 4)).toString()).toBe(
      'abcd',
    );
  });

  it('refuses bodies over the limit, declared or streamed, with 413', async () => {
    for (const req of [
      request({ 'content-length': '5' }, ['abcde']),
      request({}, ['abc', 'de']),
      request({}, ['abcde']),
    ]) {
      const e = await registryErrorOf(readSmallBody(req, 4));
      expect([e.code, e.message, e.status, e.detail]).toEqual([
        'SIZE_INVALID',
        'manifest larger than 4 bytes',
        413,
        { limit: 4 },
      ]);
    }
  });
});

describe('an oversized streamed body', () => {
  it('is drained (resumed) after the refusal so the connection can carry the 413', async () => {
    const req = request({}, ['abc', 'de', 'fgh']);
    let resumed = 0;
    const resume = req.resume.bind(req);
    (req as unknown as { resume: () => unknown }).resume = () => {
      resumed++;
      return resume();
    };
    expect((await registryErrorOf(readSmallBody(req, 4))).status).toBe(413);
    expect(resumed).toBe(1);
  });
});

describe('query parameters', () => {
  it('lists and single values', () => {
    expect(queryList(undefined)).toEqual([]);
    expect(queryList('a')).toEqual(['a']);
    expect(queryList(['a', 'b'])).toEqual(['a', 'b']);
    expect(queryList(['a', { x: 1 }, 'b'])).toEqual(['a', 'b']);
    expect(queryList({ x: 1 })).toEqual([]);
    expect(queryString(undefined)).toBeUndefined();
    expect(queryString('a')).toBe('a');
    expect(queryString(['a', 'b'])).toBe('a');
    expect(queryString([{ x: 1 }, 'b'])).toBeUndefined();
    expect(queryString({ x: 1 })).toBeUndefined();
    expect(queryString(1)).toBeUndefined();
  });

  it('n: digits, at most the maximum, else PAGINATION_NUMBER_INVALID', () => {
    expect(parsePageSize(undefined, 10)).toBeUndefined();
    expect(parsePageSize('0', 10)).toBe(0);
    expect(parsePageSize('10', 10)).toBe(10);
    expect(parsePageSize('11', 10)).toBe(10);
    for (const bad of ['-1', 'x', '1x', '', ['1'], 1]) {
      const e = registryError(() => parsePageSize(bad, 10));
      expect([e.code, e.message, e.detail]).toEqual([
        'PAGINATION_NUMBER_INVALID',
        'n must be a non-negative integer',
        { n: bad },
      ]);
    }
  });

  it('Content-Range: start-end with an optional bytes prefix and total; else 416', () => {
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(parseContentRange('0-0')).toEqual({ start: 0, end: 0 });
    expect(parseContentRange(' bytes 5-9/10 ')).toEqual({ start: 5, end: 9 });
    expect(parseContentRange('bytes=5-9/*')).toEqual({ start: 5, end: 9 });
    for (const bad of ['9-5', 'bytes 5-', '-5', '5-9/x', 'bits 5-9', 'x5-9', '5-9x']) {
      const e = registryError(() => parseContentRange(bad));
      expect([e.code, e.message, e.status]).toEqual([
        'BLOB_UPLOAD_INVALID',
        'invalid Content-Range',
        416,
      ]);
    }
  });
});

describe('names and tags', () => {
  it('repository names up to 255 characters', () => {
    const long = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    expect(long.length).toBe(MAX_NAME_LENGTH);
    expect(isValidRepositoryName(long)).toBe(true);
    expect(isValidRepositoryName(`${long}c`)).toBe(false);
    expect(() => assertRepositoryName(long)).not.toThrow();
    const e = registryError(() => assertRepositoryName('Bad'));
    expect([e.code, e.message, e.detail]).toEqual([
      'NAME_INVALID',
      'invalid repository name',
      { name: 'Bad' },
    ]);
  });

  it('tags', () => {
    expect(isValidTag('a'.repeat(128))).toBe(true);
    expect(isValidTag('a'.repeat(129))).toBe(false);
    expect(() => assertTag('v1.0_x-y')).not.toThrow();
    const e = registryError(() => assertTag('.bad'));
    expect([e.code, e.message, e.detail]).toEqual([
      'MANIFEST_INVALID',
      'invalid tag',
      { tag: '.bad' },
    ]);
  });
});

describe('registry paths', () => {
  it('refuses a malformed percent-escape as NAME_INVALID', () => {
    const e = registryError(() => parseRegistryPath('/v2/a%zz/tags/list'));
    expect([e.code, e.message]).toEqual(['NAME_INVALID', 'invalid path encoding']);
  });

  it('answers an unknown endpoint with UNSUPPORTED 404 naming the decoded path', () => {
    const e = registryError(() => parseRegistryPath('/v2/a/b%2Fc/unknown'));
    expect([e.code, e.message, e.status, e.detail]).toEqual([
      'UNSUPPORTED',
      'no such registry endpoint',
      404,
      { path: '/v2/a/b/c/unknown' },
    ]);
  });

  it('parses every route, with or without the leading slash and v2 prefix', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseRegistryPath('v2/a/referrers/' + d)).toEqual({
      kind: 'referrers',
      name: 'a',
      digest: d,
    });
    expect(parseRegistryPath('//v2/a/blobs/' + d)).toEqual({ kind: 'blob', name: 'a', digest: d });
    expect(parseRegistryPath('/v2')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2/a/blobs/uploads')).toEqual({ kind: 'uploadStart', name: 'a' });
    expect(parseRegistryPath('/v2/a/manifests/' + d)).toEqual({
      kind: 'manifest',
      name: 'a',
      reference: d,
    });
    expect(registryError(() => parseRegistryPath('/v2/a/manifests/sha256:xyz')).code).toBe(
      'DIGEST_INVALID',
    );
    expect(registryError(() => parseRegistryPath('/v2/a/referrers/latest')).code).toBe(
      'DIGEST_INVALID',
    );
    expect(registryError(() => parseRegistryPath('/v2/A/blobs/uploads/')).code).toBe(
      'NAME_INVALID',
    );
  });
});

describe('digests', () => {
  it('hashes bytes, streams and running hashes alike', async () => {
    const data = Buffer.from('hello');
    const hex256 = createHash('sha256').update(data).digest('hex');
    const hex512 = createHash('sha512').update(data).digest('hex');
    expect(digestOf('sha256', data)).toBe(`sha256:${hex256}`);
    expect(digestOf('sha512', data)).toBe(`sha512:${hex512}`);
    expect(finishDigest('sha256', createDigestHash('sha256').update(data))).toBe(
      `sha256:${hex256}`,
    );
    expect(
      await digestOfStream('sha512', Readable.from([Buffer.from('hel'), Buffer.from('lo')])),
    ).toEqual({ digest: `sha512:${hex512}`, size: 5 });
    expect(await digestOfStream('sha256', Readable.from([]))).toEqual({
      digest: `sha256:${createHash('sha256').digest('hex')}`,
      size: 0,
    });
  });

  it('algorithms and references', () => {
    expect(isDigestAlgorithm('sha256')).toBe(true);
    expect(isDigestAlgorithm('sha512')).toBe(true);
    expect(isDigestAlgorithm('md5')).toBe(false);
    expect(isDigestAlgorithm('toString')).toBe(false);
    expect(looksLikeDigest('sha256:abc')).toBe(true);
    expect(looksLikeDigest('latest')).toBe(false);
    expect(parseDigest(`sha512:${'b'.repeat(128)}`)).toEqual({
      algorithm: 'sha512',
      hex: 'b'.repeat(128),
      digest: `sha512:${'b'.repeat(128)}`,
    });
  });
});

describe('manifest validation', () => {
  const cfg = `sha256:${'c'.repeat(64)}`;
  const layer = `sha256:${'d'.repeat(64)}`;
  const image = (extra: Record<string, unknown> = {}, layerExtra: Record<string, unknown> = {}) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 2 },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: layer,
            size: 3,
            ...layerExtra,
          },
        ],
        ...extra,
      }),
    );
  const message = (fn: () => unknown) => registryError(fn).message;

  it('refuses annotations that jsonb cannot store', () => {
    expect(message(() => parseManifest(image({ annotations: { a: 'x\u0000y' } }), undefined))).toBe(
      'annotations must be valid Unicode text without NUL characters',
    );
    expect(
      message(() => parseManifest(image({ annotations: { 'k\u0000': 'v' } }), undefined)),
    ).toBe('annotations must be valid Unicode text without NUL characters');
    expect(message(() => parseManifest(image({ annotations: { a: 1 } }), undefined))).toBe(
      'annotations must be a map of strings',
    );
  });

  it('refuses urls that are not a list of strings, and a non-string artifactType', () => {
    expect(message(() => parseManifest(image({}, { urls: 'http://x' }), undefined))).toBe(
      'layers[0].urls must be a list of strings',
    );
    expect(message(() => parseManifest(image({}, { urls: [1] }), undefined))).toBe(
      'layers[0].urls must be a list of strings',
    );
    expect(message(() => parseManifest(image({}, { artifactType: 1 }), undefined))).toBe(
      'layers[0].artifactType must be a string',
    );
    expect(message(() => parseManifest(image({ artifactType: 'not a type' }), undefined))).toBe(
      'artifactType must be a media type',
    );
    expect(message(() => parseManifest(image({ artifactType: 7 }), undefined))).toBe(
      'artifactType must be a media type',
    );
  });

  it('foreign layers (by media type or urls) are not required in the repository', () => {
    expect(parseManifest(image(), undefined).blobs).toEqual([cfg, layer]);
    expect(parseManifest(image({}, { urls: ['http://x/l'] }), undefined).blobs).toEqual([cfg]);
    expect(parseManifest(image({}, { urls: [] }), undefined).blobs).toEqual([cfg, layer]);
    for (const mediaType of [
      'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      'application/vnd.oci.image.layer.nondistributable.v1.tar',
    ])
      expect(parseManifest(image({}, { mediaType }), undefined).blobs).toEqual([cfg]);
  });

  it('refuses one digest declared with two sizes, and keeps the declared sizes', () => {
    const twice = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: cfg, size: 3 }],
      }),
    );
    const e = registryError(() => parseManifest(twice, undefined));
    expect([e.code, e.message, e.detail]).toEqual([
      'MANIFEST_INVALID',
      'one digest is declared with two different sizes',
      { digest: cfg },
    ]);
    expect([...parseManifest(image(), undefined).sizes]).toEqual([
      [cfg, 2],
      [layer, 3],
    ]);
  });

  it('an image without artifactType takes its config media type; an index keeps none', () => {
    expect(parseManifest(image(), undefined).artifactType).toBe(
      'application/vnd.oci.image.config.v1+json',
    );
    expect(parseManifest(image({ artifactType: 'application/x.a' }), undefined).artifactType).toBe(
      'application/x.a',
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
      }),
    );
    expect(parseManifest(index, undefined)).toMatchObject({
      kind: 'index',
      artifactType: undefined,
      blobs: [],
      manifests: [],
    });
  });

  it('media type: from the header, the field, or the shape; else unsupported', () => {
    expect(resolveMediaType(undefined, { manifests: [] })).toBe(
      'application/vnd.oci.image.index.v1+json',
    );
    expect(resolveMediaType(undefined, { config: {} })).toBe(
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(resolveMediaType('Application/VND.OCI.Image.Index.v1+JSON; charset=utf-8', {})).toBe(
      'application/vnd.oci.image.index.v1+json',
    );
    expect(resolveMediaType('', { config: {} })).toBe('application/vnd.oci.image.manifest.v1+json');
    for (const doc of [{}, { mediaType: 'application/x.unknown' }, { manifests: {} }]) {
      const e = registryError(() => resolveMediaType(undefined, doc));
      expect([e.code, e.message]).toEqual(['MANIFEST_INVALID', 'unsupported manifest media type']);
    }
    const e = registryError(() => resolveMediaType('text/plain', {}));
    expect([e.code, e.message]).toEqual([
      'MANIFEST_INVALID',
      'unsupported manifest media type in Content-Type',
    ]);
  });
});

describe('permission levels', () => {
  it('atLeast compares ranks', () => {
    expect(atLeast('admin', 'admin')).toBe(true);
    expect(atLeast('write', 'read')).toBe(true);
    expect(atLeast('read', 'write')).toBe(false);
    expect(atLeast('none', 'read')).toBe(false);
    expect(atLeast('none', 'none')).toBe(true);
  });

  it('maxLevel ignores null and undefined', () => {
    expect(maxLevel()).toBe('none');
    expect(maxLevel(null, undefined, 'read', 'none')).toBe('read');
    expect(maxLevel('admin', 'write')).toBe('admin');
  });

  it('a reserved namespace gives nobody but system administrators anything', () => {
    const facts = {
      namespaceKind: 'reserved' as const,
      namespace: 'legacy',
      orgRole: null,
      repository: { visibility: 'private' as const, userGrant: null, teamGrants: [] },
    };
    const user = { kind: 'user' as const, userId: 'u', username: 'legacy', isAdmin: false };
    expect(resolveLevel(user, facts)).toBe('none');
    expect(resolveLevel({ ...user, isAdmin: true }, facts)).toBe('admin');
    expect(
      resolveLevel(user, { ...facts, repository: { ...facts.repository, userGrant: 'write' } }),
    ).toBe('write');
  });
});
