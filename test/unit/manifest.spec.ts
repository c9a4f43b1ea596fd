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
