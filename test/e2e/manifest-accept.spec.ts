import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RegistryClient, adminClient, sha256 } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
// The Accept headers real clients send (docker 20.10+, containerd, containers/image).
const DOCKER_CLIENT = `${DOCKER}, ${DOCKER_LIST}, ${OCI}, ${OCI_INDEX}`;
const CONTAINERD = `${DOCKER}, ${DOCKER_LIST}, ${OCI}, ${OCI_INDEX}, */*`;

/** Manifest content negotiation (src/registry/accept.ts), over plain HTTP. */
describe('manifest GET/HEAD and the Accept header', () => {
  let server: TestServer;
  let c: RegistryClient;
  const m: Record<string, { digest: string; body: string }> = {};

  async function putImage(tag: string, type: string, arch: string) {
    const config = JSON.stringify({
      architecture: arch,
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const layer = `layer of ${tag}`;
    await c.pushBlob('neg/app', config);
    await c.pushBlob('neg/app', layer);
    const docker = type === DOCKER;
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: type,
      config: {
        mediaType: docker
          ? 'application/vnd.docker.container.image.v1+json'
          : 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: docker
            ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
            : 'application/vnd.oci.image.layer.v1.tar',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    });
    const res = await c.putManifest('neg/app', tag, body, type);
    expect(res.status).toBe(201);
    m[tag] = { digest: sha256(body), body };
  }

  async function putIndex(
    tag: string,
    type: string,
    entryType: string,
    amd64: string,
    arm64: string,
  ) {
    const entry = (t: string, architecture: string) => ({
      mediaType: entryType,
      digest: m[t].digest,
      size: Buffer.byteLength(m[t].body),
      platform: { os: 'linux', architecture },
    });
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: type,
      manifests: [entry(arm64, 'arm64'), entry(amd64, 'amd64')],
    });
    expect((await c.putManifest('neg/app', tag, body, type)).status).toBe(201);
    m[tag] = { digest: sha256(body), body };
  }

  beforeAll(async () => {
    server = await startServer();
    c = await adminClient(server.url);
    await putImage('oci-amd64', OCI, 'amd64');
    await putImage('oci-arm64', OCI, 'arm64');
    await putImage('docker-amd64', DOCKER, 'amd64');
    await putImage('docker-arm64', DOCKER, 'arm64');
    await putIndex('oci-index', OCI_INDEX, OCI, 'oci-amd64', 'oci-arm64');
    await putIndex('docker-list', DOCKER_LIST, DOCKER, 'docker-amd64', 'docker-arm64');
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** GET and HEAD agree; returns what GET answered. */
  async function get(ref: string, accept?: string) {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    const res = await c.fetch(`/v2/neg/app/manifests/${ref}`, { headers });
    const head = await c.fetch(`/v2/neg/app/manifests/${ref}`, { method: 'HEAD', headers });
    const body = await res.text();
    expect(head.status).toBe(res.status);
    expect(head.headers.get('docker-content-digest')).toBe(
      res.headers.get('docker-content-digest'),
    );
    expect(head.headers.get('content-type')).toBe(res.headers.get('content-type'));
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      digest: res.headers.get('docker-content-digest'),
      body,
    };
  }

  it.each([
    ['oci-amd64', undefined, OCI],
    ['oci-index', undefined, OCI_INDEX],
    ['oci-amd64', DOCKER_CLIENT, OCI],
    ['oci-index', DOCKER_CLIENT, OCI_INDEX],
    ['docker-list', DOCKER_CLIENT, DOCKER_LIST],
    ['oci-index', CONTAINERD, OCI_INDEX],
    ['oci-amd64', '*/*', OCI],
    ['oci-amd64', 'application/*', OCI],
    // Distribution serves Docker schema 2 manifests whatever Accept says; so do we.
    ['docker-amd64', 'application/vnd.docker.distribution.manifest.v1+prettyjws', DOCKER],
  ])('%s with Accept %j: the stored bytes as %s', async (ref, accept, type) => {
    const res = await get(ref, accept);
    expect(res.status).toBe(200);
    expect(res.type).toBe(type);
    expect(res.body).toBe(m[ref].body);
    expect(res.digest).toBe(m[ref].digest);
  });

  it.each([
    ['docker-list', DOCKER, 'docker-amd64'],
    ['oci-index', OCI, 'oci-amd64'],
    ['oci-index', `${OCI}, ${OCI_INDEX};q=0`, 'oci-amd64'],
  ])(
    '%s by tag with Accept %j: its linux/amd64 entry, with that entry’s digest',
    async (ref, accept, entry) => {
      const res = await get(ref, accept);
      expect(res.status).toBe(200);
      expect(res.body).toBe(m[entry].body);
      expect(res.digest).toBe(m[entry].digest);
    },
  );

  it.each([
    ['oci-amd64', DOCKER],
    ['oci-amd64', `${DOCKER}, ${DOCKER_LIST}`],
    ['oci-amd64', 'application/json'],
    ['oci-index', `${DOCKER}, ${DOCKER_LIST}`],
    ['docker-list', OCI],
  ])('%s with Accept %j: 404 MANIFEST_UNKNOWN saying the stored type', async (ref, accept) => {
    const res = await get(ref, accept);
    expect(res.status).toBe(404);
    const err = JSON.parse(res.body).errors[0];
    expect(err.code).toBe('MANIFEST_UNKNOWN');
    expect(err.message).toMatch(
      /stored as application\/vnd\.\S+, which the Accept header does not include/,
    );
  });

  it('an index requested by digest is those bytes or nothing', async () => {
    const byDigest = await get(m['oci-index'].digest, OCI);
    expect(byDigest.status).toBe(404);
    const ok = await get(m['oci-index'].digest, OCI_INDEX);
    expect(ok.status).toBe(200);
    expect(ok.digest).toBe(m['oci-index'].digest);
  });
});
