import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfSkopeo, mkimage, skopeo, useSkopeoCreds } from '../support/skopeo.js';
import { adminApiKey, TEST_ADMIN } from '../support/registry.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';

const maybe = describeIfSkopeo() ? describe : describe.skip;

function sha256File(path: string): string {
  return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}

function layoutBlobs(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(join(dir, 'blobs/sha256')))
    out.set(`sha256:${f}`, sha256File(join(dir, 'blobs/sha256', f)));
  return out;
}

maybe('skopeo against Aerugo', () => {
  let server: TestServer;
  let host: string;
  const src = tempDir('aerugo-img-');

  beforeAll(async () => {
    server = await startServer();
    host = `127.0.0.1:${server.port}`;
    useSkopeoCreds(`${TEST_ADMIN.username}:${await adminApiKey(server.url)}`);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('pushes and pulls an OCI image; digests survive byte for byte', async () => {
    const digest = await mkimage(src, 'v1', '4m,1m');
    // --preserve-digests stops skopeo from recompressing layers, so every digest must survive as is.
    await skopeo(
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      `docker://${host}/skopeo/oci:v1`,
    );
    const raw = await skopeo(
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${host}/skopeo/oci:v1`,
    );
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(digest);
    const out = tempDir('aerugo-pull-');
    await skopeo(
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      `docker://${host}/skopeo/oci:v1`,
      `oci:${out}:v1`,
    );
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(index.manifests[0].digest).toBe(digest);
    // Every pulled blob hashes to its name, and all of them match the source layout's blobs.
    const pulled = layoutBlobs(out);
    const source = layoutBlobs(src);
    for (const [name, actual] of pulled) {
      expect(actual).toBe(name);
      expect(source.get(name)).toBe(name);
    }
    expect(pulled.size).toBe(4); // manifest, config, 2 layers
  });

  it('pushes with --format v2s2 and pulls it back', async () => {
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--format',
      'v2s2',
      `oci:${src}:v1`,
      `docker://${host}/skopeo/v2s2:v1`,
    );
    const raw = await skopeo(
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${host}/skopeo/v2s2:v1`,
    );
    expect(JSON.parse(raw).mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const out = tempDir('aerugo-pull-');
    await skopeo('copy', '--src-tls-verify=false', `docker://${host}/skopeo/v2s2:v1`, `dir:${out}`);
    const pulledManifest = readFileSync(join(out, 'manifest.json'), 'utf8');
    expect(pulledManifest).toBe(raw);
    for (const f of readdirSync(out).filter((f) => /^[0-9a-f]{64}$/.test(f))) {
      expect(sha256File(join(out, f))).toBe(`sha256:${f}`);
    }
  });

  it('pushes a multi-platform index with --all and pulls one platform', async () => {
    const multi = tempDir('aerugo-multi-');
    const indexDigest = await mkimage(
      multi,
      'multi',
      '1m',
      '--platform',
      'linux/amd64,linux/arm64',
      '--seed',
      '7',
    );
    await skopeo(
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${multi}:multi`,
      `docker://${host}/skopeo/multi:v1`,
    );
    const raw = await skopeo(
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${host}/skopeo/multi:v1`,
    );
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(indexDigest);
    const index = JSON.parse(raw) as {
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    const arm = index.manifests.find((m) => m.platform.architecture === 'arm64')!;
    const out = tempDir('aerugo-pull-');
    await skopeo(
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--override-arch',
      'arm64',
      '--override-os',
      'linux',
      `docker://${host}/skopeo/multi:v1`,
      `oci:${out}:arm`,
    );
    const pulled = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    expect(pulled.manifests[0].digest).toBe(arm.digest);
  });

  it('list-tags, inspect and delete', async () => {
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      `docker://${host}/skopeo/oci:v2`,
    );
    const tags = JSON.parse(
      await skopeo('list-tags', '--tls-verify=false', `docker://${host}/skopeo/oci`),
    ) as { Tags: string[] };
    expect(tags.Tags).toEqual(['v1', 'v2']);
    const info = JSON.parse(
      await skopeo('inspect', '--tls-verify=false', `docker://${host}/skopeo/oci:v2`),
    ) as { Digest: string; Architecture: string; Layers: string[] };
    expect(info.Architecture).toBe('amd64');
    expect(info.Layers).toHaveLength(2);
    await skopeo('delete', '--tls-verify=false', `docker://${host}/skopeo/oci:v2`);
    // Deleting by digest removes the manifest and so both tags that pointed at it.
    await expect(
      skopeo('inspect', '--tls-verify=false', `docker://${host}/skopeo/oci:v1`),
    ).rejects.toThrow(/manifest unknown|not found/i);
    const after = JSON.parse(
      await skopeo('list-tags', '--tls-verify=false', `docker://${host}/skopeo/oci`),
    ) as { Tags: string[] };
    expect(after.Tags).toEqual([]);
  });
});
