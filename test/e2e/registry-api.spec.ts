import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  RegistryClient,
  adminClient,
  errorCode,
  randomBytesSeeded,
  sha256,
  sha512,
} from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { request as httpRequest } from 'node:http';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

let server: TestServer;
let c: RegistryClient;

/** A request whose path goes out exactly as written (fetch would resolve `..` segments first). */
function rawRequest(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; code?: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...c.headers, 'content-length': Buffer.byteLength(body ?? '') },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let code: string | undefined;
          try {
            code = (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
          } catch {
            code = undefined;
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  server = await startServer();
  c = await adminClient(server.url);
});

afterAll(async () => {
  await server?.stop();
});

describe('base and errors', () => {
  it('GET /v2/ answers 200 with the API version header', async () => {
    const res = await c.fetch('/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await res.json()).toEqual({});
  });

  it.each([
    ['/v2/UPPER/tags/list', 'NAME_INVALID'],
    ['/v2/a..b/tags/list', 'NAME_INVALID'],
    ['/v2/-a/manifests/latest', 'NAME_INVALID'],
    ['/v2/a/manifests/-bad', 'MANIFEST_INVALID'],
    ['/v2/a/blobs/sha256:xyz', 'DIGEST_INVALID'],
    ['/v2/a/blobs/md5:0123', 'UNSUPPORTED'],
  ])('GET %s is refused with %s', async (path, code) => {
    const res = await c.fetch(path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await errorCode(res)).toBe(code);
  });

  it('unknown repositories, blobs, manifests and uploads get the spec codes', async () => {
    expect(await errorCode(await c.fetch('/v2/nope/tags/list'))).toBe('NAME_UNKNOWN');
    await c.pushBlob('known', 'x');
    const missing = sha256('missing');
    const blob = await c.fetch(`/v2/known/blobs/${missing}`);
    expect(blob.status).toBe(404);
    expect(await errorCode(blob)).toBe('BLOB_UNKNOWN');
    const man = await c.fetch('/v2/known/manifests/latest');
    expect(man.status).toBe(404);
    expect(await errorCode(man)).toBe('MANIFEST_UNKNOWN');
    const up = await c.fetch('/v2/known/blobs/uploads/6f1c2a9e-0000-4000-8000-000000000000');
    expect(up.status).toBe(404);
    expect(await errorCode(up)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('upload ids that are paths reach the upload route and are refused there, never as files', async () => {
    await c.pushBlob('known', 'x');
    // `..` as the upload id: the upload route itself answers (not a normalised path).
    expect(await rawRequest('PATCH', '/v2/known/blobs/uploads/..', 'x')).toEqual({
      status: 404,
      code: 'BLOB_UPLOAD_UNKNOWN',
    });
    expect(await rawRequest('PUT', `/v2/known/blobs/uploads/..?digest=${sha256('x')}`)).toEqual({
      status: 404,
      code: 'BLOB_UPLOAD_UNKNOWN',
    });
    expect(await rawRequest('GET', '/v2/known/blobs/uploads/%2E%2E')).toEqual({
      status: 404,
      code: 'BLOB_UPLOAD_UNKNOWN',
    });
    // With more segments the path names no registry endpoint at all.
    for (const path of [
      '/v2/known/blobs/uploads/../../etc',
      '/v2/known/blobs/uploads/..%2F..%2Fetc',
    ])
      expect([path, await rawRequest('PATCH', path, 'x')]).toEqual([
        path,
        { status: 404, code: 'UNSUPPORTED' },
      ]);
  });

  it('HEAD on a missing blob has no body but the right status', async () => {
    const res = await c.fetch(`/v2/known/blobs/${sha256('nothing')}`, { method: 'HEAD' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
  });
});

describe('blob uploads', () => {
  it('monolithic POST with ?digest= stores the blob; GET and HEAD serve it', async () => {
    const data = randomBytesSeeded(100_000, 7);
    const digest = sha256(data);
    const res = await c.fetch(`/v2/mono/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: data,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/mono/app/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const head = await c.fetch(`/v2/mono/app/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    const get = await c.fetch(`/v2/mono/app/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
  });

  it('a wrong digest gets DIGEST_INVALID and stores nothing', async () => {
    const data = Buffer.from('hello world');
    const wrong = sha256('something else');
    const res = await c.fetch(`/v2/mono/app/blobs/uploads/?digest=${wrong}`, {
      method: 'POST',
      body: data,
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
    expect((await c.fetch(`/v2/mono/app/blobs/${wrong}`, { method: 'HEAD' })).status).toBe(404);
    expect((await c.fetch(`/v2/mono/app/blobs/${sha256(data)}`, { method: 'HEAD' })).status).toBe(
      404,
    );
  });

  it('chunked upload with Content-Range, status, out-of-order 416, and PUT with a final chunk', async () => {
    const data = randomBytesSeeded(300_000, 3);
    const digest = sha256(data);
    const { location, res: start } = await c.startUpload('chunked');
    expect(start.headers.get('docker-upload-uuid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(location).toMatch(/^\/v2\/chunked\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.headers.get('range')).toBe('0-0');

    const p1 = await c.fetch(location, {
      method: 'PATCH',
      body: data.subarray(0, 100_000),
      headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' },
    });
    expect(p1.status).toBe(202);
    expect(p1.headers.get('range')).toBe('0-99999');
    const loc2 = p1.headers.get('location')!;

    const wrong = await c.fetch(loc2, {
      method: 'PATCH',
      body: data.subarray(150_000, 200_000),
      headers: { 'Content-Range': '150000-199999' },
    });
    expect(wrong.status).toBe(416);
    expect(wrong.headers.get('range')).toBe('0-99999');

    const status = await c.fetch(loc2);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-99999');
    expect(status.headers.get('docker-upload-uuid')).toBe(start.headers.get('docker-upload-uuid'));

    const p2 = await c.fetch(loc2, {
      method: 'PATCH',
      body: data.subarray(100_000, 200_000),
      headers: { 'Content-Range': '100000-199999' },
    });
    expect(p2.status).toBe(202);
    const done = await c.fetch(`${p2.headers.get('location')}?digest=${digest}`, {
      method: 'PUT',
      body: data.subarray(200_000),
      headers: { 'Content-Range': '200000-299999' },
    });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);
    const get = await c.fetch(`/v2/chunked/blobs/${digest}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    expect((await c.fetch(loc2)).status).toBe(404);
  });

  it('streamed PATCH without Content-Range, then PUT without a body', async () => {
    const data = randomBytesSeeded(2_000_000, 11);
    const { location } = await c.startUpload('streamed');
    const stream = new ReadableStream<Uint8Array>({
      start(ctrl) {
        for (let i = 0; i < data.length; i += 65536) ctrl.enqueue(data.subarray(i, i + 65536));
        ctrl.close();
      },
    });
    const p = await c.fetch(location, {
      method: 'PATCH',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(p.status).toBe(202);
    expect(p.headers.get('range')).toBe(`0-${data.length - 1}`);
    const done = await c.fetch(`${p.headers.get('location')}?digest=${sha256(data)}`, {
      method: 'PUT',
    });
    expect(done.status).toBe(201);
    const back = await c.fetch(`/v2/streamed/blobs/${sha256(data)}`);
    expect(back.status).toBe(200);
    expect(Buffer.from(await back.arrayBuffer()).equals(data)).toBe(true);
  });

  it('PUT with a mismatching digest fails with DIGEST_INVALID and the upload is gone', async () => {
    const { location } = await c.startUpload('mismatch');
    expect((await c.fetch(location, { method: 'PATCH', body: 'abc' })).status).toBe(202);
    const res = await c.fetch(`${location}?digest=${sha256('abd')}`, { method: 'PUT' });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
    expect((await c.fetch(`/v2/mismatch/blobs/${sha256('abd')}`, { method: 'HEAD' })).status).toBe(
      404,
    );
    expect((await c.fetch(`/v2/mismatch/blobs/${sha256('abc')}`, { method: 'HEAD' })).status).toBe(
      404,
    );
    // The session is gone: neither its status nor a retry with the right digest finds it.
    const status = await c.fetch(location);
    expect(status.status).toBe(404);
    expect(await errorCode(status)).toBe('BLOB_UPLOAD_UNKNOWN');
    const retry = await c.fetch(`${location}?digest=${sha256('abc')}`, { method: 'PUT' });
    expect(retry.status).toBe(404);
    expect(await errorCode(retry)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('PUT without ?digest= is refused', async () => {
    const { location } = await c.startUpload('nodigest');
    const res = await c.fetch(location, { method: 'PUT' });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
  });

  it('DELETE cancels an upload', async () => {
    const { location } = await c.startUpload('cancel');
    expect((await c.fetch(location, { method: 'DELETE' })).status).toBe(204);
    expect((await c.fetch(location)).status).toBe(404);
    expect((await c.fetch(location, { method: 'PATCH', body: 'x' })).status).toBe(404);
  });

  it('an upload cannot be continued through another repository', async () => {
    await c.pushBlob('other', 'x');
    const { location } = await c.startUpload('owner');
    const id = location.split('/').pop();
    const res = await c.fetch(`/v2/other/blobs/uploads/${id}`, { method: 'PATCH', body: 'x' });
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('sha512 digests work for monolithic and chunked uploads', async () => {
    const data = randomBytesSeeded(70_000, 5);
    const d512 = sha512(data);
    const mono = await c.fetch(`/v2/sha512/blobs/uploads/?digest=${d512}`, {
      method: 'POST',
      body: data,
    });
    expect(mono.status).toBe(201);
    expect(mono.headers.get('docker-content-digest')).toBe(d512);
    const head = await c.fetch(`/v2/sha512/blobs/${d512}`, { method: 'HEAD' });
    expect(head.status).toBe(200);

    const other = randomBytesSeeded(50_000, 6);
    const { location } = await c.startUpload('sha512', '?digest-algorithm=sha512');
    const p = await c.fetch(location, { method: 'PATCH', body: other });
    const done = await c.fetch(`${p.headers.get('location')}?digest=${sha512(other)}`, {
      method: 'PUT',
    });
    expect(done.status).toBe(201);
    const get = await c.fetch(`/v2/sha512/blobs/${sha512(other)}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(other)).toBe(true);

    const bad = await c.fetch('/v2/sha512/blobs/uploads/?digest-algorithm=md5', { method: 'POST' });
    expect(bad.status).toBe(400);
  });

  it('Range requests: 206 for satisfiable ranges, 416 otherwise', async () => {
    const data = randomBytesSeeded(1000, 9);
    const digest = await c.pushBlob('ranges', data);
    const r1 = await c.fetch(`/v2/ranges/blobs/${digest}`, { headers: { Range: 'bytes=10-19' } });
    expect(r1.status).toBe(206);
    expect(r1.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(r1.headers.get('content-length')).toBe('10');
    expect(Buffer.from(await r1.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
    const r2 = await c.fetch(`/v2/ranges/blobs/${digest}`, { headers: { Range: 'bytes=-100' } });
    expect(r2.status).toBe(206);
    expect(Buffer.from(await r2.arrayBuffer()).equals(data.subarray(900))).toBe(true);
    const r3 = await c.fetch(`/v2/ranges/blobs/${digest}`, { headers: { Range: 'bytes=990-' } });
    expect(Buffer.from(await r3.arrayBuffer()).equals(data.subarray(990))).toBe(true);
    const r4 = await c.fetch(`/v2/ranges/blobs/${digest}`, {
      headers: { Range: 'bytes=1000-1010' },
    });
    expect(r4.status).toBe(416);
    expect(r4.headers.get('content-range')).toBe('bytes */1000');
  });

  it('zero-byte blobs work', async () => {
    const digest = await c.pushBlob('empty', Buffer.alloc(0));
    const get = await c.fetch(`/v2/empty/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-length')).toBe('0');
  });

  it('cross-repository mount answers 201 when the source blob is visible, else starts an upload', async () => {
    const digest = await c.pushBlob('mount/src', 'mount me');
    const res = await c.fetch(`/v2/mount/dst/blobs/uploads/?mount=${digest}&from=mount/src`, {
      method: 'POST',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/mount/dst/blobs/${digest}`);
    expect((await c.fetch(`/v2/mount/dst/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    const fallback = await c.fetch(
      `/v2/mount/dst2/blobs/uploads/?mount=${sha256('nope')}&from=mount/src`,
      { method: 'POST' },
    );
    expect(fallback.status).toBe(202);
    expect(fallback.headers.get('location')).toMatch(/\/blobs\/uploads\//);
  });

  it('DELETE blob removes it from the repository only', async () => {
    const digest = await c.pushBlob('del/a', 'shared blob');
    await c.pushBlob('del/b', 'shared blob');
    expect((await c.fetch(`/v2/del/a/blobs/${digest}`, { method: 'DELETE' })).status).toBe(202);
    expect((await c.fetch(`/v2/del/a/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
    expect((await c.fetch(`/v2/del/b/blobs/${digest}`, { method: 'HEAD' })).status).toBe(200);
    const again = await c.fetch(`/v2/del/a/blobs/${digest}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe('BLOB_UNKNOWN');
  });
});

describe('manifests', () => {
  it('stores the exact bytes, serves them with the stored type, by tag and digest (sha256 and sha512)', async () => {
    const layer = await c.pushBlob('img', 'layer-1');
    const config = await c.pushBlob('img', '{"os":"linux"}');
    // Unusual whitespace and key order must survive byte for byte.
    const body = `{\n  "schemaVersion": 2, "mediaType": "${OCI_MANIFEST}",\n  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "${config}", "size": 14},\n  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "${layer}", "size": 7}]\n}`;
    const put = await c.putManifest('img', 'v1', body, OCI_MANIFEST);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(body));
    expect(put.headers.get('location')).toBe(`/v2/img/manifests/${sha256(body)}`);
    for (const ref of ['v1', sha256(body), sha512(body)]) {
      const get = await c.fetch(`/v2/img/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(await get.text()).toBe(body);
      expect(get.headers.get('docker-content-digest')).toBe(
        ref === sha512(body) ? sha512(body) : sha256(body),
      );
    }
    // HEAD by tag is how docker and containerd resolve a tag: the digest must be GET's.
    const head = await c.fetch('/v2/img/manifests/v1', {
      method: 'HEAD',
      headers: { Accept: OCI_MANIFEST },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(head.headers.get('docker-content-digest')).toBe(sha256(body));
    expect(head.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(await head.text()).toBe('');
  });

  it('PUT by digest verifies the digest and supports several ?tag= parameters', async () => {
    const { body } = await c.pushImage('multi', 'seed', ['a']);
    const digest = sha256(body);
    const res = await c.fetch(`/v2/multi/manifests/${digest}?tag=one&tag=two&tag=three`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(res.status).toBe(201);
    const tags = await (await c.fetch('/v2/multi/tags/list')).json();
    expect(tags).toEqual({ name: 'multi', tags: ['one', 'seed', 'three', 'two'] });
    const wrong = await c.fetch(`/v2/multi/manifests/${sha256('other')}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe('DIGEST_INVALID');
    const d512 = await c.fetch(`/v2/multi/manifests/${sha512(body)}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(d512.status).toBe(201);
    expect(d512.headers.get('docker-content-digest')).toBe(sha512(body));
  });

  it('rejects invalid JSON, bad schemas and unknown blobs', async () => {
    const cases: [string, string, string][] = [
      ['not json', OCI_MANIFEST, 'MANIFEST_INVALID'],
      ['[]', OCI_MANIFEST, 'MANIFEST_INVALID'],
      [
        JSON.stringify({ schemaVersion: 1, name: 'x' }),
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
        'MANIFEST_INVALID',
      ],
      [
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }),
        OCI_MANIFEST,
        'MANIFEST_INVALID',
      ],
      [
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'a/b', digest: 'sha256:zz', size: 1 },
          layers: [],
        }),
        OCI_MANIFEST,
        'MANIFEST_INVALID',
      ],
      [
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }),
        OCI_MANIFEST,
        'MANIFEST_INVALID',
      ],
      [
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'a/b', digest: sha256('nope'), size: 1 },
          layers: [],
        }),
        OCI_MANIFEST,
        'MANIFEST_BLOB_UNKNOWN',
      ],
      [
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('nope'), size: 3 }],
        }),
        OCI_INDEX,
        'MANIFEST_BLOB_UNKNOWN',
      ],
    ];
    for (const [body, type, code] of cases) {
      const res = await c.putManifest('invalid', 'latest', body, type);
      expect({ body, status: res.status, code: await errorCode(res) }).toEqual({
        body,
        status: 400,
        code,
      });
    }
    expect((await c.fetch('/v2/invalid/manifests/latest')).status).toBe(404);
  });

  it('refuses manifests over 4 MiB', async () => {
    const huge = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [],
      annotations: { pad: 'x'.repeat(4 * 1024 * 1024) },
    });
    const res = await c.putManifest('big', 'latest', huge, OCI_INDEX);
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe('SIZE_INVALID');
  });

  it('accepts Docker schema 2 manifests and manifest lists, OCI indexes and artifacts', async () => {
    const layer = await c.pushBlob('kinds', 'docker-layer');
    const cfg = await c.pushBlob('kinds', '{"architecture":"amd64"}');
    const docker = JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        digest: cfg,
        size: 24,
      },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer, size: 12 },
      ],
    });
    expect((await c.putManifest('kinds', 'docker', docker, DOCKER_MANIFEST)).status).toBe(201);
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [
        {
          mediaType: DOCKER_MANIFEST,
          digest: sha256(docker),
          size: docker.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    expect((await c.putManifest('kinds', 'list', list, DOCKER_LIST)).status).toBe(201);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: DOCKER_MANIFEST, digest: sha256(docker), size: docker.length }],
    });
    expect((await c.putManifest('kinds', 'index', index, OCI_INDEX)).status).toBe(201);
    const getList = await c.fetch('/v2/kinds/manifests/list');
    expect(getList.headers.get('content-type')).toBe(DOCKER_LIST);
    // An artifact with a custom config media type and an artifactType.
    const empty = await c.pushBlob('kinds', '{}');
    const artifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.sbom.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [{ mediaType: 'application/vnd.example.sbom.layer', digest: layer, size: 12 }],
    });
    expect((await c.putManifest('kinds', 'sbom', artifact, OCI_MANIFEST)).status).toBe(201);
    const custom = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.example.config.v1+json', digest: cfg, size: 24 },
      layers: [],
    });
    expect((await c.putManifest('kinds', 'custom', custom, OCI_MANIFEST)).status).toBe(201);
    // Each kind reads back byte for byte, with its type and digest, by tag and by digest.
    const ALL =
      'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json';
    for (const [tag, bytes, type] of [
      ['docker', docker, DOCKER_MANIFEST],
      ['list', list, DOCKER_LIST],
      ['index', index, OCI_INDEX],
      ['sbom', artifact, OCI_MANIFEST],
      ['custom', custom, OCI_MANIFEST],
    ]) {
      for (const ref of [tag, sha256(bytes)]) {
        const get = await c.fetch(`/v2/kinds/manifests/${ref}`, { headers: { Accept: ALL } });
        expect([ref, get.status, get.headers.get('content-type')]).toEqual([ref, 200, type]);
        expect(get.headers.get('docker-content-digest')).toBe(sha256(bytes));
        expect(await get.text()).toBe(bytes);
        const head = await c.fetch(`/v2/kinds/manifests/${ref}`, {
          method: 'HEAD',
          headers: { Accept: ALL },
        });
        expect(head.headers.get('docker-content-digest')).toBe(sha256(bytes));
      }
    }
    // mediaType in the body must agree with Content-Type
    const mismatch = await c.putManifest('kinds', 'mismatch', docker, OCI_MANIFEST);
    expect(await errorCode(mismatch)).toBe('MANIFEST_INVALID');
  });

  it('tags move, tags and manifests delete', async () => {
    const a = await c.pushImage('moves', 'latest', ['one']);
    // Read (and so cache) the tag before it moves: the push must invalidate it on this node.
    expect(
      (await c.fetch('/v2/moves/manifests/latest', { method: 'HEAD' })).headers.get(
        'docker-content-digest',
      ),
    ).toBe(a.digest);
    expect((await c.fetch('/v2/moves/manifests/latest')).headers.get('docker-content-digest')).toBe(
      a.digest,
    );
    const b = await c.pushImage('moves', 'latest', ['two']);
    expect(a.digest).not.toBe(b.digest);
    const cur = await c.fetch('/v2/moves/manifests/latest');
    expect(cur.headers.get('docker-content-digest')).toBe(b.digest);
    expect(await cur.text()).toBe(b.body);
    expect(
      (await c.fetch('/v2/moves/manifests/latest', { method: 'HEAD' })).headers.get(
        'docker-content-digest',
      ),
    ).toBe(b.digest);
    expect((await c.fetch(`/v2/moves/manifests/${a.digest}`)).status).toBe(200);
    // delete the tag: the manifest stays reachable by digest
    expect((await c.fetch('/v2/moves/manifests/latest', { method: 'DELETE' })).status).toBe(202);
    expect((await c.fetch('/v2/moves/manifests/latest')).status).toBe(404);
    expect((await c.fetch(`/v2/moves/manifests/${b.digest}`)).status).toBe(200);
    // delete by digest removes the manifest and every tag on it
    await c.putManifest('moves', 'again', b.body);
    expect((await c.fetch(`/v2/moves/manifests/${b.digest}`, { method: 'DELETE' })).status).toBe(
      202,
    );
    expect((await c.fetch(`/v2/moves/manifests/${b.digest}`)).status).toBe(404);
    expect((await c.fetch('/v2/moves/manifests/again')).status).toBe(404);
    const gone = await c.fetch(`/v2/moves/manifests/${b.digest}`, { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('MANIFEST_UNKNOWN');
  });
});

describe('referrers', () => {
  it('lists manifests whose subject is the digest, with artifactType filtering', async () => {
    const subject = await c.pushImage('refs', 'v1', ['base']);
    const empty = await c.pushBlob('refs', '{}');
    const mk = (artifactType: string, payload: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
        layers: [
          { mediaType: 'application/octet-stream', digest: sha256(payload), size: payload.length },
        ],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.body.length },
        annotations: { 'org.example.kind': artifactType },
      });
    await c.pushBlob('refs', 'sig-payload');
    await c.pushBlob('refs', 'sbom-payload');
    const sig = mk('application/vnd.example.signature', 'sig-payload');
    const sbom = mk('application/vnd.example.sbom', 'sbom-payload');
    const put = await c.putManifest('refs', sha256(sig), sig);
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-subject')).toBe(subject.digest);
    await c.putManifest('refs', sha256(sbom), sbom);

    const all = await c.fetch(`/v2/refs/referrers/${subject.digest}`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe(OCI_INDEX);
    const idx = (await all.json()) as {
      schemaVersion: number;
      manifests: {
        digest: string;
        artifactType: string;
        annotations: Record<string, string>;
        size: number;
      }[];
    };
    expect(idx.schemaVersion).toBe(2);
    expect(idx.manifests.map((m) => m.digest).sort()).toEqual([sha256(sig), sha256(sbom)].sort());
    const sigDesc = idx.manifests.find((m) => m.digest === sha256(sig))!;
    expect(sigDesc.artifactType).toBe('application/vnd.example.signature');
    expect(sigDesc.size).toBe(sig.length);
    expect(sigDesc.annotations['org.example.kind']).toBe('application/vnd.example.signature');

    const filtered = await c.fetch(
      `/v2/refs/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`,
    );
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    const f = (await filtered.json()) as { manifests: { digest: string }[] };
    expect(f.manifests.map((m) => m.digest)).toEqual([sha256(sbom)]);

    const none = await c.fetch(`/v2/refs/referrers/${sha256('no subject')}`);
    expect(none.status).toBe(200);
    expect(((await none.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    expect((await c.fetch('/v2/refs/referrers/sha256:bad')).status).toBe(400);
  });
});

describe('tags and catalog pagination', () => {
  it('tags are sorted lexically and paginate with n/last and a Link header', async () => {
    const { body } = await c.pushImage('paged', 'b', ['p']);
    for (const t of ['a', 'C', 'c', 'a-1', 'a_1', '1']) await c.putManifest('paged', t, body);
    const all = (await (await c.fetch('/v2/paged/tags/list')).json()) as { tags: string[] };
    expect(all.tags).toEqual(['1', 'C', 'a', 'a-1', 'a_1', 'b', 'c']);
    const p1 = await c.fetch('/v2/paged/tags/list?n=3');
    expect(((await p1.json()) as { tags: string[] }).tags).toEqual(['1', 'C', 'a']);
    expect(p1.headers.get('link')).toBe('</v2/paged/tags/list?n=3&last=a>; rel="next"');
    const p2 = await c.fetch('/v2/paged/tags/list?n=3&last=a');
    expect(((await p2.json()) as { tags: string[] }).tags).toEqual(['a-1', 'a_1', 'b']);
    const p3 = await c.fetch('/v2/paged/tags/list?n=3&last=b');
    expect(((await p3.json()) as { tags: string[] }).tags).toEqual(['c']);
    expect(p3.headers.get('link')).toBeNull();
    // `last` without `n`: everything after it.
    const rest = await c.fetch('/v2/paged/tags/list?last=a');
    expect(((await rest.json()) as { tags: string[] }).tags).toEqual(['a-1', 'a_1', 'b', 'c']);
    expect(rest.headers.get('link')).toBeNull();
    const bad = await c.fetch('/v2/paged/tags/list?n=abc');
    expect(bad.status).toBe(400);
  });

  it('catalog comes from the database, sorted, with n/last pagination', async () => {
    const all = (await (await c.fetch('/v2/_catalog?n=1000')).json()) as { repositories: string[] };
    expect(all.repositories).toEqual([...all.repositories].sort());
    expect(all.repositories).toEqual(
      expect.arrayContaining(['img', 'mono/app', 'mount/dst', 'paged']),
    );
    const first = await c.fetch('/v2/_catalog?n=2');
    const page = (await first.json()) as { repositories: string[] };
    expect(page.repositories).toEqual(all.repositories.slice(0, 2));
    expect(first.headers.get('link')).toBe(
      `</v2/_catalog?n=2&last=${encodeURIComponent(page.repositories[1])}>; rel="next"`,
    );
    const next = (await (
      await c.fetch(`/v2/_catalog?n=2&last=${encodeURIComponent(page.repositories[1])}`)
    ).json()) as { repositories: string[] };
    expect(next.repositories).toEqual(all.repositories.slice(2, 4));
  });

  it('multi-segment names work end to end', async () => {
    const { digest } = await c.pushImage('org/team/sub/app', 'v1', ['deep']);
    const res = await c.fetch('/v2/org/team/sub/app/manifests/v1');
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(
      ((await (await c.fetch('/v2/org/team/sub/app/tags/list')).json()) as { tags: string[] }).tags,
    ).toEqual(['v1']);
  });
});

describe('repository details through the management API', () => {
  it('list each tag with digest, media type, stored bytes, platforms and push time', async () => {
    const before = Date.now();
    const layers = ['x'.repeat(1000), 'y'.repeat(234)];
    const image = await c.pushImage('details/app', 'v1', layers);
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const imageBytes = Buffer.byteLength(image.body) + config.length + 1000 + 234;
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: image.digest,
          size: Buffer.byteLength(image.body),
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
      ],
    });
    expect((await c.putManifest('details/app', 'multi', index, OCI_INDEX)).status).toBe(201);

    const res = await c.fetch('/api/v1/repos/details/app');
    expect(res.status).toBe(200);
    const details = (await res.json()) as {
      tags: {
        name: string;
        digest: string;
        mediaType: string;
        size: number;
        platforms: string[];
        pushedAt: string;
      }[];
    };
    // Platforms: an index's from its entries, an image's from its config blob.
    expect(details.tags.map((t) => [t.name, t.digest, t.mediaType, t.size, t.platforms])).toEqual([
      ['multi', sha256(index), OCI_INDEX, index.length + imageBytes, ['linux/arm64/v8']],
      ['v1', image.digest, OCI_MANIFEST, imageBytes, ['linux/amd64']],
    ]);
    for (const t of details.tags) {
      expect(Date.parse(t.pushedAt)).toBeGreaterThanOrEqual(before - 5000);
      expect(Date.parse(t.pushedAt)).toBeLessThanOrEqual(Date.now() + 5000);
    }
  });
});
