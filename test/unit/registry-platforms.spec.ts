import { describe, expect, it } from '@jest/globals';
import { MAX_CONFIG_BYTES, platformName, platformsOf } from '../../src/registry/platforms.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const CONFIG_DIGEST = `sha256:${'c'.repeat(64)}`;

const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

function image(configType: string, size = 100, mediaType: string | undefined = OCI_MANIFEST) {
  return bytes({
    schemaVersion: 2,
    ...(mediaType ? { mediaType } : {}),
    config: { mediaType: configType, digest: CONFIG_DIGEST, size },
    layers: [],
  });
}

/** A config reader that records what it was asked and answers `config`. */
function reader(config: unknown) {
  const asked: [string, number][] = [];
  const read = (digest: string, size: number) => {
    asked.push([digest, size]);
    return Promise.resolve(config === null ? null : Buffer.from(JSON.stringify(config)));
  };
  return { asked, read };
}

describe('platformName', () => {
  it.each([
    [{ os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64/v8'],
    [{ os: 'windows', architecture: 'amd64', variant: '' }, 'windows/amd64'],
    [{ os: 'unknown', architecture: 'unknown' }, null],
    [{ os: 'linux', architecture: 'unknown' }, null],
    [{ os: 'linux' }, null],
    [{ os: 1, architecture: 'amd64' }, null],
    [null, null],
    ['linux/amd64', null],
  ])('%j → %j', (p, expected) => {
    expect(platformName(p)).toBe(expected);
  });
});

describe('platformsOf', () => {
  it("an index names its entries' platforms, once each, without attestations, reading nothing", async () => {
    const r = reader({ os: 'plan9', architecture: 'mips' });
    const index = bytes({
      schemaVersion: 2,
      manifests: [
        { platform: { os: 'linux', architecture: 'amd64' } },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { platform: { os: 'linux', architecture: 'amd64' } },
        { platform: { os: 'unknown', architecture: 'unknown' } },
        {},
      ],
    });
    expect(await platformsOf(index, r.read)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(r.asked).toEqual([]);
  });

  it.each([OCI_CONFIG, DOCKER_CONFIG])(
    'an image with a %s config names its platform',
    async (t) => {
      const r = reader({ os: 'linux', architecture: 'arm', variant: 'v7', rootfs: {} });
      expect(await platformsOf(image(t, 123), r.read)).toEqual(['linux/arm/v7']);
      expect(r.asked).toEqual([[CONFIG_DIGEST, 123]]);
    },
  );

  it('a manifest without mediaType is read by its config', async () => {
    const r = reader({ os: 'linux', architecture: 's390x' });
    expect(await platformsOf(image(OCI_CONFIG, 10, undefined), r.read)).toEqual(['linux/s390x']);
  });

  it('artifacts, huge configs, unreadable or odd configs and bad JSON name no platform', async () => {
    const r = reader({ os: 'linux', architecture: 'amd64' });
    expect(await platformsOf(image('application/vnd.example.sbom+json'), r.read)).toEqual([]);
    expect(await platformsOf(image(OCI_CONFIG, MAX_CONFIG_BYTES + 1), r.read)).toEqual([]);
    expect(await platformsOf(image(OCI_CONFIG, 10, 'application/x-other'), r.read)).toEqual([]);
    expect(r.asked).toEqual([]);
    expect(await platformsOf(image(OCI_CONFIG), reader(null).read)).toEqual([]);
    expect(await platformsOf(image(OCI_CONFIG), reader({ os: 'linux' }).read)).toEqual([]);
    const notJson = () => Promise.resolve(Buffer.from('{not json'));
    expect(await platformsOf(image(OCI_CONFIG), notJson)).toEqual([]);
    expect(await platformsOf(Buffer.from('[1,2'), r.read)).toEqual([]);
  });
});
