import { describe, expect, it } from '@jest/globals';
import {
  parseContentRange,
  parsePageSize,
  parseRangeHeader,
} from '../../src/registry/http-util.js';
import {
  parseRegistryPath,
  requiredActions,
  type RegistryRoute,
} from '../../src/registry/routes.js';

describe('Range header', () => {
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-9', { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=5-', { kind: 'partial', range: { start: 5, end: 99 } }],
    ['bytes=-10', { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=-1000', { kind: 'partial', range: { start: 0, end: 99 } }],
    ['bytes=90-1000', { kind: 'partial', range: { start: 90, end: 99 } }],
    ['bytes=100-', { kind: 'unsatisfiable' }],
    ['bytes=10-5', { kind: 'unsatisfiable' }],
    ['items=1-2', { kind: 'full' }],
    [' bytes=0-9 ', { kind: 'partial', range: { start: 0, end: 9 } }],
    ['bytes=99-', { kind: 'partial', range: { start: 99, end: 99 } }],
    ['bytes=5-5', { kind: 'partial', range: { start: 5, end: 5 } }],
    ['bytes=-100', { kind: 'partial', range: { start: 0, end: 99 } }],
    ['bytes=-1', { kind: 'partial', range: { start: 99, end: 99 } }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=-', { kind: 'full' }],
    ['bytes=0-1,5-6', { kind: 'full' }],
    ['xbytes=0-1', { kind: 'full' }],
    ['bytes=0-1x', { kind: 'full' }],
    ['bytes=a-1', { kind: 'full' }],
  ])('%s on 100 bytes', (h, expected) => expect(parseRangeHeader(h, 100)).toEqual(expected));
});

describe('Range header on an empty blob', () => {
  it.each([
    ['bytes=0-', { kind: 'unsatisfiable' }],
    ['bytes=-5', { kind: 'unsatisfiable' }],
    ['bytes=0-0', { kind: 'unsatisfiable' }],
    [undefined, { kind: 'full' }],
  ])('%s on 0 bytes', (h, expected) => expect(parseRangeHeader(h, 0)).toEqual(expected));
});

describe('Content-Range of upload chunks', () => {
  it('parses plain and prefixed forms', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(() => parseContentRange('9-1')).toThrow();
    expect(() => parseContentRange('x')).toThrow();
  });
});

describe('pagination', () => {
  it('parses and caps n', () => {
    expect(parsePageSize(undefined, 10)).toBeUndefined();
    expect(parsePageSize('5', 10)).toBe(5);
    expect(parsePageSize('50', 10)).toBe(10);
    expect(() => parsePageSize('-1', 10)).toThrow();
  });
});

describe('registry routes', () => {
  it('parses multi-segment names for every endpoint', () => {
    expect(parseRegistryPath('/v2/')).toEqual({ kind: 'base' });
    expect(parseRegistryPath('/v2/_catalog')).toEqual({ kind: 'catalog' });
    expect(parseRegistryPath('/v2/a/b/c/tags/list')).toEqual({ kind: 'tags', name: 'a/b/c' });
    expect(parseRegistryPath('/v2/a/blobs/uploads/')).toEqual({ kind: 'uploadStart', name: 'a' });
    expect(parseRegistryPath('/v2/a/blobs/x/manifests/latest')).toEqual({
      kind: 'manifest',
      name: 'a/blobs/x',
      reference: 'latest',
    });
    expect(parseRegistryPath('/v2/a/b/blobs/uploads/123e4567-e89b-42d3-a456-426614174000')).toEqual(
      {
        kind: 'upload',
        name: 'a/b',
        uuid: '123e4567-e89b-42d3-a456-426614174000',
      },
    );
  });

  // The whole route → action table: every registry route kind with every method it serves.
  const repoRoutes = {
    tags: { kind: 'tags', name: 'a' },
    manifest: { kind: 'manifest', name: 'a', reference: 'x' },
    blob: { kind: 'blob', name: 'a', digest: 'x' },
    uploadStart: { kind: 'uploadStart', name: 'a' },
    upload: { kind: 'upload', name: 'a', uuid: 'u' },
    referrers: { kind: 'referrers', name: 'a', digest: 'x' },
  } as const;
  const table: [RegistryRoute['kind'], string, string[]][] = [
    ['base', 'GET', []],
    ['catalog', 'GET', []],
    ['tags', 'GET', ['pull']],
    ['tags', 'HEAD', ['pull']],
    ['manifest', 'GET', ['pull']],
    ['manifest', 'HEAD', ['pull']],
    ['manifest', 'PUT', ['pull', 'push']],
    ['manifest', 'DELETE', ['delete']],
    ['blob', 'GET', ['pull']],
    ['blob', 'HEAD', ['pull']],
    ['blob', 'DELETE', ['delete']],
    ['uploadStart', 'POST', ['pull', 'push']],
    ['upload', 'GET', ['pull', 'push']],
    ['upload', 'HEAD', ['pull', 'push']],
    ['upload', 'PATCH', ['pull', 'push']],
    ['upload', 'PUT', ['pull', 'push']],
    ['upload', 'DELETE', ['pull', 'push']],
    ['referrers', 'GET', ['pull']],
  ];
  it.each(table)('%s %s needs %j', (kind, method, actions) => {
    const route =
      kind === 'base' || kind === 'catalog'
        ? { kind }
        : (repoRoutes as Record<string, Parameters<typeof requiredActions>[0]>)[kind];
    expect(requiredActions(route as Parameters<typeof requiredActions>[0], method)).toEqual(
      actions,
    );
    expect(
      requiredActions(route as Parameters<typeof requiredActions>[0], method.toLowerCase()),
    ).toEqual(actions);
  });
});
