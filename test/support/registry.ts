import { createHash } from 'node:crypto';

/** Small helpers that speak the OCI Distribution API with plain fetch, for e2e tests. */
export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export function randomBytesSeeded(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export class RegistryClient {
  constructor(
    readonly base: string,
    readonly headers: Record<string, string> = {},
  ) {}

  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.base}${path}`;
    return fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...this.headers, ...((init.headers as Record<string, string>) ?? {}) },
    });
  }

  /** Monolithic upload: POST ?digest= with the whole body. */
  async pushBlob(repo: string, data: Uint8Array | string, digest = sha256(data)): Promise<string> {
    const res = await this.fetch(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: typeof data === 'string' ? data : Buffer.from(data),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (res.status !== 201) throw new Error(`pushBlob ${repo}: ${res.status} ${await res.text()}`);
    return digest;
  }

  async startUpload(repo: string, query = ''): Promise<{ location: string; res: Response }> {
    const res = await this.fetch(`/v2/${repo}/blobs/uploads/${query}`, { method: 'POST' });
    if (res.status !== 202)
      throw new Error(`startUpload ${repo}: ${res.status} ${await res.text()}`);
    return { location: res.headers.get('location')!, res };
  }

  async putManifest(
    repo: string,
    ref: string,
    manifest: unknown,
    mediaType?: string,
  ): Promise<Response> {
    const body = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
    const type =
      mediaType ??
      (JSON.parse(body) as { mediaType?: string }).mediaType ??
      'application/vnd.oci.image.manifest.v1+json';
    return this.fetch(`/v2/${repo}/manifests/${ref}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': type },
    });
  }

  /** Pushes a config and layers, then an OCI image manifest; returns the manifest and its digest. */
  async pushImage(
    repo: string,
    tag: string,
    layers: (Buffer | string)[],
    extra: Record<string, unknown> = {},
  ): Promise<{ digest: string; body: string }> {
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const configDigest = await this.pushBlob(repo, config);
    const layerDescs = [];
    for (const l of layers) {
      const d = await this.pushBlob(repo, l);
      layerDescs.push({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: d,
        size: Buffer.byteLength(l),
      });
    }
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: Buffer.byteLength(config),
      },
      layers: layerDescs,
      ...extra,
    });
    const res = await this.putManifest(repo, tag, body);
    if (res.status !== 201)
      throw new Error(`putManifest ${repo}:${tag}: ${res.status} ${await res.text()}`);
    return { digest: sha256(body), body };
  }
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** The system administrator the registry suites bootstrap (ADMIN_USERNAME/ADMIN_PASSWORD). */
export const TEST_ADMIN = { username: 'registry-admin', password: 'registry-admin-password' };

/** Server environment that bootstraps TEST_ADMIN, plus `env`. */
export function adminEnv(
  env: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return { ADMIN_USERNAME: TEST_ADMIN.username, ADMIN_PASSWORD: TEST_ADMIN.password, ...env };
}

/**
 * An API key of TEST_ADMIN, made once through the management API with Basic credentials. Clients
 * send it as X-API-Key: checking it costs one SHA-256, where Basic costs an argon2id per request.
 */
export async function adminApiKey(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/api-keys`, {
    method: 'POST',
    headers: {
      authorization: basicHeader(TEST_ADMIN.username, TEST_ADMIN.password),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ name: `tests-${Date.now()}` }),
  });
  if (res.status !== 201)
    throw new Error(`creating an admin API key: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}

/** A registry client authenticated as TEST_ADMIN (who may push to any free name). */
export async function adminClient(base: string, key?: string): Promise<RegistryClient> {
  return new RegistryClient(base, { 'x-api-key': key ?? (await adminApiKey(base)) });
}

/**
 * Sends `chunk` as the start of a PATCH body that never ends, kills `node` (SIGKILL) while the
 * request is still open, and returns what the client saw: 'failed' when the connection broke.
 */
export async function killDuringPatch(
  client: RegistryClient,
  location: string,
  chunk: Uint8Array,
  node: { kill(): Promise<void> },
  /** True once the node is provably in the middle of the PATCH (e.g. its bytes are stored). */
  midStream: () => Promise<boolean>,
): Promise<number | 'failed'> {
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (!sent) {
        ctrl.enqueue(chunk);
        sent = true;
        return;
      }
      await hold;
      ctrl.close();
    },
  });
  const inflight = client
    .fetch(location, { method: 'PATCH', body, duplex: 'half' } as RequestInit)
    .then(
      (r) => r.status,
      () => 'failed' as const,
    );
  // The kill lands mid-stream: the chunk has arrived and the body is still open.
  await waitFor('the PATCH to be streaming', midStream);
  await node.kill();
  release();
  return inflight;
}

/** A PATCH (or PUT) whose body sends `first` and then stalls until closed. */
export interface StalledRequest {
  /** The status the server answered, or 'failed' when the connection broke. */
  result: Promise<number | 'failed'>;
  /** Sends the rest (`rest`) and ends the body. */
  finish(rest?: Uint8Array): void;
  /** Drops the connection. */
  close(): void;
}

export async function stalledRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  first: Uint8Array,
): Promise<StalledRequest> {
  const { request } = await import('node:http');
  const url = new URL(path.startsWith('http') ? path : `${base}${path}`);
  const req = request(url, { method, headers: { ...headers, 'transfer-encoding': 'chunked' } });
  const result = new Promise<number | 'failed'>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('failed'));
    req.on('close', () => resolve('failed'));
  });
  req.flushHeaders();
  if (first.length) req.write(first);
  return {
    result,
    finish: (rest) => {
      if (rest?.length) req.write(rest);
      req.end();
    },
    close: () => req.destroy(),
  };
}

/** Polls `check` until it returns true (at most `timeoutMs`); throws with `what` otherwise. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
