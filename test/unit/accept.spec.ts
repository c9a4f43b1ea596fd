import { describe, expect, it } from '@jest/globals';
import { accepts, chooseManifest, parseAccept } from '../../src/registry/accept.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const AMD64 = `sha256:${'a'.repeat(64)}`;
const ARM64 = `sha256:${'b'.repeat(64)}`;

// What the clients send (docker 20.10+, containerd, containers/image for podman/skopeo/buildah).
const DOCKER_CLIENT = [DOCKER, DOCKER_LIST, OCI, OCI_INDEX].join(', ');
const CONTAINERD = `${DOCKER}, ${DOCKER_LIST}, ${OCI}, ${OCI_INDEX}, */*`;
const CONTAINERS_IMAGE = `${OCI}, ${OCI_INDEX}, ${DOCKER}, ${DOCKER_LIST}, application/vnd.docker.distribution.manifest.v1+prettyjws, application/vnd.docker.distribution.manifest.v1+json`;

function index(mediaType: string, entryType: string): { mediaType: string; content: Buffer } {
  return {
    mediaType,
    content: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: [
          {
            mediaType: entryType,
            digest: ARM64,
            size: 1,
            platform: { os: 'linux', architecture: 'arm64' },
          },
          {
            mediaType: entryType,
            digest: AMD64,
            size: 1,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    ),
  };
}

const image = (mediaType: string) => ({ mediaType, content: Buffer.from('{}') });

describe('parseAccept', () => {
  it('splits several headers and comma lists, drops parameters, reads q', () => {
    expect(parseAccept([`${OCI}; q=0.5`, ` ${DOCKER} ,*/*;q=0`])).toEqual([
      { type: OCI, q: 0.5 },
      { type: DOCKER, q: 1 },
      { type: '*/*', q: 0 },
    ]);
    expect(parseAccept(undefined)).toBeUndefined();
    expect(parseAccept(' , ')).toBeUndefined();
  });

  it.each([
    [OCI, OCI, true],
    [OCI.toUpperCase(), OCI, true],
    ['application/*', OCI, true],
    ['*/*', OCI, true],
    [`${OCI};q=0`, OCI, false],
    [`*/*, ${OCI};q=0`, OCI, false], // the most specific range decides
    ['application/json', OCI, false],
    ['text/*', OCI, false],
  ])('accepts(%j, %s) is %s', (header, type, expected) => {
    expect(accepts(parseAccept(header)!, type)).toBe(expected);
  });
});

describe('chooseManifest', () => {
  it.each([
    // Rule 1: no Accept, or an Accept that admits the stored type.
    ['no Accept, OCI manifest', undefined, image(OCI), true, { serve: 'stored' }],
    ['no Accept, OCI index', undefined, index(OCI_INDEX, OCI), true, { serve: 'stored' }],
    ['docker, OCI manifest', DOCKER_CLIENT, image(OCI), true, { serve: 'stored' }],
    ['docker, Docker list', DOCKER_CLIENT, index(DOCKER_LIST, DOCKER), true, { serve: 'stored' }],
    ['containerd, OCI index', CONTAINERD, index(OCI_INDEX, OCI), true, { serve: 'stored' }],
    [
      'containers/image, OCI index',
      CONTAINERS_IMAGE,
      index(OCI_INDEX, OCI),
      false,
      { serve: 'stored' },
    ],
    ['wildcard only, OCI manifest', '*/*', image(OCI), true, { serve: 'stored' }],
    // Rule 2: a Docker schema 2 manifest is served whatever Accept says.
    [
      'schema 1 only, Docker manifest',
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      image(DOCKER),
      true,
      { serve: 'stored' },
    ],
    // Rule 3: an index by tag → its linux/amd64 entry when that entry's type is accepted.
    [
      'Docker manifest only, Docker list by tag',
      DOCKER,
      index(DOCKER_LIST, DOCKER),
      true,
      { serve: 'entry', digest: AMD64, mediaType: DOCKER },
    ],
    [
      'OCI manifest only, OCI index by tag',
      OCI,
      index(OCI_INDEX, OCI),
      true,
      { serve: 'entry', digest: AMD64, mediaType: OCI },
    ],
  ])('%s', (_what, accept, stored, byTag, expected) => {
    expect(chooseManifest(accept, stored, byTag)).toEqual(expected);
  });

  it.each([
    // Rule 4: nothing the client accepts.
    ['Docker manifest only, OCI manifest', DOCKER, image(OCI), true],
    ['Docker types only, OCI index', `${DOCKER}, ${DOCKER_LIST}`, index(OCI_INDEX, OCI), true],
    ['OCI manifest refused with q=0', `${OCI};q=0, ${DOCKER}`, image(OCI), true],
    ['Docker manifest only, OCI index of OCI manifests', DOCKER, index(OCI_INDEX, OCI), true],
    ['OCI manifest only, index requested by digest', OCI, index(OCI_INDEX, OCI), false],
    [
      'index without linux/amd64',
      DOCKER,
      { mediaType: DOCKER_LIST, content: Buffer.from('{"manifests":[]}') },
      true,
    ],
    ['application/json, OCI manifest', 'application/json', image(OCI), true],
  ])('%s → nothing, saying why', (_what, accept, stored, byTag) => {
    const choice = chooseManifest(accept, stored, byTag);
    expect(choice).toEqual({
      serve: 'none',
      message: `the manifest is stored as ${stored.mediaType}, which the Accept header does not include`,
    });
  });
});
