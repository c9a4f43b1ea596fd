import { describe, expect, it } from '@jest/globals';
import { RegistryError } from '../../src/registry/errors.js';
import { MEDIA_TYPES, parseManifest } from '../../src/registry/manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, extra: object = {}) => ({
  mediaType,
  digest: d(c),
  size: 10,
  ...extra,
});
const image = (extra: object = {}) => ({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociManifest,
  config: desc('application/vnd.oci.image.config.v1+json', 'a'),
  layers: [desc('application/vnd.oci.image.layer.v1.tar+gzip', 'b')],
  ...extra,
});
const parse = (doc: unknown, type?: string) =>
  parseManifest(Buffer.from(JSON.stringify(doc)), type);
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as RegistryError).code;
  }
  return 'accepted';
};

describe('parseManifest', () => {
  it('collects config and layers of an image manifest', () => {
    const m = parse(image(), MEDIA_TYPES.ociManifest);
    expect(m.kind).toBe('image');
    expect(m.blobs).toEqual([d('a'), d('b')]);
    expect(m.artifactType).toBe('application/vnd.oci.image.config.v1+json');
  });

  it('skips foreign layers with urls', () => {
    const m = parse(
      image({
        layers: [
          desc('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'c', {
            urls: ['https://x'],
          }),
        ],
      }),
    );
    expect(m.blobs).toEqual([d('a')]);
  });

  it('reads artifactType and subject', () => {
    const m = parse(
      image({
        artifactType: 'application/vnd.example+json',
        subject: desc(MEDIA_TYPES.ociManifest, 'e'),
      }),
    );
    expect(m.artifactType).toBe('application/vnd.example+json');
    expect(m.subject?.digest).toBe(d('e'));
  });

  it('collects the children of an index; infers types without Content-Type', () => {
    const idx = { schemaVersion: 2, manifests: [desc(MEDIA_TYPES.ociManifest, 'f')] };
    const m = parse(idx);
    expect(m.kind).toBe('index');
    expect(m.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(m.manifests).toEqual([d('f')]);
    expect(parse({ schemaVersion: 2, config: desc('a/b', 'a'), layers: [] }).mediaType).toBe(
      MEDIA_TYPES.ociManifest,
    );
  });

  it.each([
    ['schema 1', { schemaVersion: 1 }],
    ['missing config', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, layers: [] }],
    ['layers not a list', image({ layers: {} })],
    ['negative size', image({ layers: [{ ...desc('a/b', 'b'), size: -1 }] })],
    ['fractional size', image({ layers: [{ ...desc('a/b', 'b'), size: 1.5 }] })],
    ['bad digest', image({ layers: [{ ...desc('a/b', 'b'), digest: 'sha256:zz' }] })],
    ['bad media type', image({ layers: [desc('not a type', 'b')] })],
    ['annotations not strings', image({ annotations: { a: 1 } })],
    ['index without manifests', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex }],
    [
      'docker manifest with subject',
      {
        ...image({ subject: desc(MEDIA_TYPES.ociManifest, 'e') }),
        mediaType: MEDIA_TYPES.dockerManifest,
      },
    ],
  ])('rejects %s', (_name, doc) => {
    expect(code(() => parse(doc))).toBe('MANIFEST_INVALID');
  });

  it('rejects non-JSON, and a body mediaType that contradicts Content-Type', () => {
    expect(code(() => parseManifest(Buffer.from('{'), MEDIA_TYPES.ociManifest))).toBe(
      'MANIFEST_INVALID',
    );
    expect(code(() => parse(image(), MEDIA_TYPES.dockerManifest))).toBe('MANIFEST_INVALID');
  });

  it.each([
    'text/plain',
    'text/plain; charset=utf-8',
    'application/json',
    'application/octet-stream',
  ])('rejects a Content-Type that is not a manifest media type: %s', (type) => {
    expect(code(() => parse(image(), type))).toBe('MANIFEST_INVALID');
  });

  it('reads the media type from the document without a Content-Type, or with parameters', () => {
    expect(parse(image(), undefined).mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parse(image(), '').mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parse(image(), `${MEDIA_TYPES.ociManifest}; charset=utf-8`).mediaType).toBe(
      MEDIA_TYPES.ociManifest,
    );
  });

  it('rejects annotations the database cannot store', () => {
    expect(code(() => parse(image({ annotations: { a: 'x\u0000' } })))).toBe('MANIFEST_INVALID');
    expect(code(() => parse(image({ annotations: { ['\ud800']: 'x' } })))).toBe('MANIFEST_INVALID');
  });
});

/** The error a refused manifest gets: code, message and detail (what the client is told). */
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    const r = e as RegistryError;
    return { code: r.code, message: r.message, detail: r.detail };
  }
  return 'accepted';
};
const invalid = (message: string, detail?: unknown) => ({
  code: 'MANIFEST_INVALID',
  message,
  detail,
});
const index = (extra: object = {}) => ({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociIndex,
  manifests: [desc(MEDIA_TYPES.ociManifest, 'f')],
  ...extra,
});
const layer = (extra: object) => image({ layers: [desc('a/b', 'b', extra)] });

describe('parseManifest: each refusal names the rule it breaks', () => {
  it.each<[string, unknown, string | undefined, ReturnType<typeof invalid>]>([
    ['JSON null', null, undefined, invalid('manifest must be a JSON object')],
    ['a JSON list', [image()], undefined, invalid('manifest must be a JSON object')],
    ['a JSON string', 'x', undefined, invalid('manifest must be a JSON object')],
    [
      'no schemaVersion',
      { ...image(), schemaVersion: undefined },
      undefined,
      invalid('only schemaVersion 2 manifests are supported', { schemaVersion: null }),
    ],
    [
      'schemaVersion "2"',
      image({ schemaVersion: '2' }),
      undefined,
      invalid('only schemaVersion 2 manifests are supported', { schemaVersion: '2' }),
    ],
    [
      'a config that is a list',
      image({ config: [desc('a/b', 'a')] }),
      undefined,
      invalid('config must be a descriptor object'),
    ],
    [
      'a config that is null',
      image({ config: null }),
      undefined,
      invalid('config must be a descriptor object'),
    ],
    [
      'a layer without mediaType',
      layer({ mediaType: undefined }),
      undefined,
      invalid('layers[0].mediaType is missing or invalid'),
    ],
    [
      'a layer mediaType that is a number',
      layer({ mediaType: 7 }),
      undefined,
      invalid('layers[0].mediaType is missing or invalid'),
    ],
    [
      'a layer mediaType that is a list',
      layer({ mediaType: ['application/x.a'] }),
      undefined,
      invalid('layers[0].mediaType is missing or invalid'),
    ],
    [
      'a mediaType that is a number, with a Content-Type',
      image({ mediaType: 7 }),
      MEDIA_TYPES.ociManifest,
      invalid('mediaType must be a string'),
    ],
    [
      'a mediaType that is a number, without Content-Type',
      image({ mediaType: 7 }),
      undefined,
      invalid('mediaType must be a string'),
    ],
    [
      'a layer without digest',
      layer({ digest: undefined }),
      undefined,
      invalid('layers[0].digest is missing'),
    ],
    [
      'a layer digest that is a number',
      layer({ digest: 7 }),
      undefined,
      invalid('layers[0].digest is missing'),
    ],
    [
      'a malformed layer digest',
      layer({ digest: 'sha256:zz' }),
      undefined,
      invalid('layers[0].digest is invalid', { digest: 'sha256:zz' }),
    ],
    [
      'a layer digest of an unknown algorithm',
      layer({ digest: `md5:${'a'.repeat(32)}` }),
      undefined,
      invalid('layers[0].digest is invalid', { digest: `md5:${'a'.repeat(32)}` }),
    ],
    [
      'a negative size',
      layer({ size: -1 }),
      undefined,
      invalid('layers[0].size must be a non-negative integer'),
    ],
    [
      'a size as a string',
      layer({ size: '10' }),
      undefined,
      invalid('layers[0].size must be a non-negative integer'),
    ],
    [
      'a fractional size',
      layer({ size: 0.5 }),
      undefined,
      invalid('layers[0].size must be a non-negative integer'),
    ],
    [
      'a size beyond 2^53',
      layer({ size: 2 ** 53 }),
      undefined,
      invalid('layers[0].size must be a non-negative integer'),
    ],
    [
      'urls that are a string',
      layer({ urls: 'https://x' }),
      undefined,
      invalid('layers[0].urls must be a list of strings'),
    ],
    [
      'urls with a number',
      layer({ urls: ['https://x', 1] }),
      undefined,
      invalid('layers[0].urls must be a list of strings'),
    ],
    [
      'a descriptor artifactType that is a number',
      layer({ artifactType: 1 }),
      undefined,
      invalid('layers[0].artifactType must be a string'),
    ],
    [
      'descriptor annotations that are a list',
      layer({ annotations: ['x'] }),
      undefined,
      invalid('layers[0].annotations must be a map of strings'),
    ],
    [
      'the second layer',
      image({ layers: [desc('a/b', 'b'), desc('a/b', 'c', { size: -1 })] }),
      undefined,
      invalid('layers[1].size must be a non-negative integer'),
    ],
    [
      'annotations that are a list',
      image({ annotations: ['x'] }),
      undefined,
      invalid('annotations must be a map of strings'),
    ],
    [
      'annotations that are null',
      image({ annotations: null }),
      undefined,
      invalid('annotations must be a map of strings'),
    ],
    [
      'annotations that are a string',
      image({ annotations: 'x' }),
      undefined,
      invalid('annotations must be a map of strings'),
    ],
    [
      'annotations with a null value',
      image({ annotations: { a: 'x', b: null } }),
      undefined,
      invalid('annotations must be a map of strings'),
    ],
    [
      'an annotation key with NUL',
      image({ annotations: { 'a\u0000': 'x' } }),
      undefined,
      invalid('annotations must be valid Unicode text without NUL characters'),
    ],
    [
      'an annotation value with a lone surrogate',
      image({ annotations: { a: 'x', b: '\udc00' } }),
      undefined,
      invalid('annotations must be valid Unicode text without NUL characters'),
    ],
    [
      'a subject that is a string',
      image({ subject: d('e') }),
      undefined,
      invalid('subject must be a descriptor object'),
    ],
    [
      'a subject without size',
      image({ subject: { mediaType: MEDIA_TYPES.ociManifest, digest: d('e') } }),
      undefined,
      invalid('subject.size must be a non-negative integer'),
    ],
    [
      'an artifactType that is not a media type',
      image({ artifactType: 'x' }),
      undefined,
      invalid('artifactType must be a media type'),
    ],
    [
      'an artifactType that is a number',
      image({ artifactType: 1 }),
      undefined,
      invalid('artifactType must be a media type'),
    ],
    [
      'layers missing',
      { ...image(), layers: undefined },
      undefined,
      invalid('layers must be a list'),
    ],
    [
      'layers as an object',
      image({ layers: { 0: desc('a/b', 'b') } }),
      undefined,
      invalid('layers must be a list'),
    ],
    [
      'a Docker manifest with an artifactType',
      { ...image({ artifactType: 'application/x.a' }), mediaType: MEDIA_TYPES.dockerManifest },
      undefined,
      invalid('Docker schema 2 manifests cannot carry artifactType or subject'),
    ],
    [
      'a Docker manifest with a subject',
      {
        ...image({ subject: desc(MEDIA_TYPES.ociManifest, 'e') }),
        mediaType: MEDIA_TYPES.dockerManifest,
      },
      MEDIA_TYPES.dockerManifest,
      invalid('Docker schema 2 manifests cannot carry artifactType or subject'),
    ],
    [
      'an index without manifests',
      { ...index(), manifests: undefined },
      undefined,
      invalid('manifests must be a list'),
    ],
    [
      'an index whose manifests are an object',
      index({ manifests: {} }),
      MEDIA_TYPES.ociIndex,
      invalid('manifests must be a list'),
    ],
    [
      'an index entry without digest',
      index({
        manifests: [
          desc(MEDIA_TYPES.ociManifest, 'f'),
          { mediaType: MEDIA_TYPES.ociManifest, size: 1 },
        ],
      }),
      undefined,
      invalid('manifests[1].digest is missing'),
    ],
    [
      'an index naming one child with two sizes',
      index({
        manifests: [
          desc(MEDIA_TYPES.ociManifest, 'f'),
          desc(MEDIA_TYPES.ociManifest, 'f', { size: 11 }),
        ],
      }),
      undefined,
      invalid('one digest is declared with two different sizes', { digest: d('f') }),
    ],
    [
      'a body mediaType other than the Content-Type',
      image(),
      MEDIA_TYPES.ociIndex,
      invalid('mediaType in the manifest does not match the Content-Type header', {
        mediaType: MEDIA_TYPES.ociManifest,
        contentType: MEDIA_TYPES.ociIndex,
      }),
    ],
    [
      'a Content-Type that is not a manifest type',
      image(),
      'Application/JSON; charset=utf-8',
      invalid('unsupported manifest media type in Content-Type', {
        contentType: 'application/json',
        supported: [
          MEDIA_TYPES.ociManifest,
          MEDIA_TYPES.dockerManifest,
          MEDIA_TYPES.ociIndex,
          MEDIA_TYPES.dockerList,
        ],
      }),
    ],
    [
      'an unknown body mediaType',
      image({ mediaType: 'application/x.unknown' }),
      undefined,
      invalid('unsupported manifest media type', { mediaType: 'application/x.unknown' }),
    ],
    [
      'a body of no recognisable shape',
      { schemaVersion: 2 },
      undefined,
      invalid('unsupported manifest media type', { mediaType: null }),
    ],
    [
      'a body with a null config and no mediaType',
      { schemaVersion: 2, config: null, layers: [] },
      undefined,
      invalid('unsupported manifest media type', { mediaType: null }),
    ],
  ])('refuses %s', (_what, doc, type, want) => {
    expect(refusal(() => parse(doc, type))).toEqual(want);
  });

  it('refuses a body that is not JSON with its own message', () => {
    expect(refusal(() => parseManifest(Buffer.from('{"schemaVersion":2'), undefined))).toEqual(
      invalid('manifest is not valid JSON'),
    );
  });
});

describe('parseManifest: what a valid manifest yields', () => {
  it('an image: every field of the result', () => {
    const subject = desc(MEDIA_TYPES.ociManifest, 'e', { annotations: { k: 'v' } });
    const m = parse(
      image({
        artifactType: 'application/x.sig',
        subject,
        annotations: { 'org.opencontainers.image.created': '2026-12-02' },
      }),
      MEDIA_TYPES.ociManifest,
    );
    expect(m).toEqual({
      mediaType: MEDIA_TYPES.ociManifest,
      kind: 'image',
      blobs: [d('a'), d('b')],
      manifests: [],
      sizes: new Map([
        [d('a'), 10],
        [d('b'), 10],
      ]),
      subject: {
        mediaType: MEDIA_TYPES.ociManifest,
        digest: d('e'),
        size: 10,
        artifactType: undefined,
        annotations: { k: 'v' },
        urls: undefined,
        platform: undefined,
      },
      artifactType: 'application/x.sig',
      annotations: { 'org.opencontainers.image.created': '2026-12-02' },
    });
  });

  it('a descriptor keeps its artifactType, urls and platform (a platform only when an object)', () => {
    const entry = desc(MEDIA_TYPES.ociManifest, 'f', {
      artifactType: 'application/x.a',
      urls: ['https://mirror/x'],
      platform: { os: 'linux', architecture: 'arm64' },
    });
    const m = parse(index({ subject: entry }));
    expect(m.subject).toEqual({
      mediaType: MEDIA_TYPES.ociManifest,
      digest: d('f'),
      size: 10,
      artifactType: 'application/x.a',
      annotations: undefined,
      urls: ['https://mirror/x'],
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(parse(index({ subject: { ...entry, platform: 'linux' } })).subject?.platform).toBe(
      undefined,
    );
  });

  it('an index: its children, their declared sizes, its own artifactType and annotations', () => {
    const m = parse(
      index({
        manifests: [
          desc(MEDIA_TYPES.ociManifest, 'f'),
          desc(MEDIA_TYPES.dockerManifest, 'e', { size: 0 }),
        ],
        artifactType: 'application/x.bundle',
        annotations: { a: 'b' },
      }),
      MEDIA_TYPES.ociIndex,
    );
    expect(m).toEqual({
      mediaType: MEDIA_TYPES.ociIndex,
      kind: 'index',
      blobs: [],
      manifests: [d('f'), d('e')],
      sizes: new Map([
        [d('f'), 10],
        [d('e'), 0],
      ]),
      subject: undefined,
      artifactType: 'application/x.bundle',
      annotations: { a: 'b' },
    });
  });

  it('accepts size 0, empty urls, empty annotations and a digest named twice with one size', () => {
    const m = parse(
      image({
        config: desc(MEDIA_TYPES.ociEmpty, 'a', { size: 0 }),
        layers: [desc('a/b', 'b', { urls: [], annotations: {} }), desc('a/b', 'b')],
        annotations: {},
      }),
    );
    expect(m.blobs).toEqual([d('a'), d('b'), d('b')]);
    expect([...m.sizes]).toEqual([
      [d('a'), 0],
      [d('b'), 10],
    ]);
    expect(m.annotations).toEqual({});
    expect(m.artifactType).toBe(MEDIA_TYPES.ociEmpty);
    expect(
      parse(image({ layers: [desc('a/b', 'b', { size: Number.MAX_SAFE_INTEGER })] })).sizes.get(
        d('b'),
      ),
    ).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('Docker manifests and lists, by Content-Type or by their own mediaType', () => {
    const docker = { ...image(), mediaType: MEDIA_TYPES.dockerManifest };
    expect(parse(docker).mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(parse(docker, MEDIA_TYPES.dockerManifest).kind).toBe('image');
    const list = { ...index(), mediaType: MEDIA_TYPES.dockerList };
    expect(parse(list).kind).toBe('index');
    expect(parse(list, MEDIA_TYPES.dockerList).mediaType).toBe(MEDIA_TYPES.dockerList);
  });

  it('the Content-Type decides when the body has no mediaType, whatever its shape', () => {
    const { mediaType: _drop, ...bare } = image();
    expect(parse(bare, MEDIA_TYPES.ociManifest).mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(parse(bare, MEDIA_TYPES.dockerManifest).mediaType).toBe(MEDIA_TYPES.dockerManifest);
    // Header parameters, case and surrounding blanks do not matter.
    expect(
      parse(image(), ` ${MEDIA_TYPES.ociManifest.toUpperCase()} ; charset=utf-8`).mediaType,
    ).toBe(MEDIA_TYPES.ociManifest);
    // An index shape sent as an image manifest is validated as an image (and refused).
    const { mediaType: _idx, ...bareIndex } = index();
    expect(refusal(() => parse(bareIndex, MEDIA_TYPES.ociManifest))).toEqual(
      invalid('config must be a descriptor object'),
    );
  });

  it('without Content-Type: the mediaType field first, then the shape (manifests before config)', () => {
    expect(parse({ ...index(), mediaType: undefined, config: desc('a/b', 'a') }).kind).toBe(
      'index',
    );
    expect(parse({ ...image(), mediaType: undefined }).mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(refusal(() => parse({ ...image(), mediaType: MEDIA_TYPES.ociIndex }))).toEqual(
      invalid('manifests must be a list'),
    );
  });
});
