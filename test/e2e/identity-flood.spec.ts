// Service-level: the node runs inside the test process (dist/) so that the test can read how
// many argon2 verifications a flood of Basic requests caused. Everything else is plain HTTP.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { PasswordHasherService } from '../../src/users/password-hasher.service.js';
import { distClass, type InProcessNode, startInProcess } from '../support/in-process.js';
import { randomBytesSeeded, RegistryClient, sha256 } from '../support/registry.js';
import { createTestDatabase, tempDir } from '../support/server.js';
import { ADMIN, type Auth, basicHeader, ok, registryErrorCode } from './identity-support.js';

const ROOT: Auth = { basic: [ADMIN.username, ADMIN.password] };
const FLOOD = 64;
const CONCURRENCY = 2;
const PER_ADDRESS = 4;

describe('a flood of Basic requests from one client', () => {
  let node: InProcessNode;
  let hasher: PasswordHasherService;
  let bystander: RegistryClient;
  const blob = randomBytesSeeded(1024 * 1024, 7);
  const blobDigest = sha256(blob);

  beforeAll(async () => {
    node = await startInProcess({
      DATABASE_URL: await createTestDatabase(),
      DATA_DIR: tempDir(),
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      PASSWORD_HASH_CONCURRENCY: String(CONCURRENCY),
      AUTH_PASSWORD_CHECKS_PER_ADDRESS: String(PER_ADDRESS),
      // The attempt limits are not what this test is about.
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
      AUTH_RATE_LIMIT_PER_ADDRESS: '100000',
    });
    hasher = node.get(
      await distClass<PasswordHasherService>(
        'users/password-hasher.service.js',
        'PasswordHasherService',
      ),
    );
    for (const username of ['flooder', 'bystander'])
      await ok(node.url, 'POST', '/users', {
        auth: ROOT,
        body: { username, password: `${username}-password` },
      });
    const key = await ok(node.url, 'POST', '/api-keys', {
      auth: { basic: ['bystander', 'bystander-password'] },
      body: { name: 'pulls' },
    });
    bystander = new RegistryClient(node.url, { 'x-api-key': key.key });
    await bystander.pushBlob('bystander/app', blob);
  }, 120_000);

  afterAll(async () => {
    await node?.close();
  });

  /** What another user does meanwhile: a 1 MiB blob pull and a health check; both must answer. */
  async function othersMeanwhile(): Promise<void> {
    const [pull, health] = await Promise.all([
      bystander.fetch(`/v2/bystander/app/blobs/${blobDigest}`),
      fetch(`${node.url}/api/v1/health`),
    ]);
    expect(pull.status).toBe(200);
    expect(sha256(Buffer.from(await pull.arrayBuffer()))).toBe(blobDigest);
    expect(health.status).toBe(200);
  }

  it('with valid credentials: one argon2 verification for all of them; others are served meanwhile', async () => {
    const before = hasher.stats;
    const headers = { authorization: basicHeader('flooder', 'flooder-password') };
    const [statuses] = await Promise.all([
      Promise.all(
        Array.from({ length: FLOOD }, () =>
          fetch(`${node.url}/v2/`, { headers }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      ),
      othersMeanwhile(),
    ]);
    expect(statuses).toEqual(Array(FLOOD).fill(200));
    // Concurrent checks of the same credentials share one verification, later ones are
    // remembered (keyed by an HMAC, tied to the user's credential generation).
    expect(hasher.stats.verifications - before.verifications).toBe(1);
    // Remembered: more requests cost no verification at all.
    for (let i = 0; i < 5; i++)
      expect((await fetch(`${node.url}/v2/`, { headers })).status).toBe(200);
    expect(hasher.stats.verifications - before.verifications).toBe(1);
    expect(hasher.stats.maxRunning).toBeLessThanOrEqual(CONCURRENCY);
  });

  it('with wrong passwords: at most a few verifications under way for the address, the rest 429', async () => {
    const before = hasher.stats;
    const [results] = await Promise.all([
      Promise.all(
        Array.from({ length: FLOOD }, (_, i) =>
          fetch(`${node.url}/v2/`, {
            headers: { authorization: basicHeader('flooder', `wrong-${i}`) },
          }).then(async (r) => ({
            status: r.status,
            code: await registryErrorCode(r),
            retryAfter: r.headers.get('retry-after'),
          })),
        ),
      ),
      othersMeanwhile(),
    ]);
    const refused = results.filter((r) => r.status === 401);
    const limited = results.filter((r) => r.status === 429);
    expect(refused.length + limited.length).toBe(FLOOD);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expect(r).toMatchObject({ code: 'TOOMANYREQUESTS', retryAfter: '1' });
    // Every refusal was one verification; the rest never reached argon2.
    expect(hasher.stats.verifications - before.verifications).toBe(refused.length);
    expect(refused.length).toBeLessThan(FLOOD);
    expect(hasher.stats.maxRunning).toBeLessThanOrEqual(CONCURRENCY);
    // The right password still works once the flood is over.
    expect(
      (
        await fetch(`${node.url}/v2/`, {
          headers: { authorization: basicHeader('flooder', 'flooder-password') },
        })
      ).status,
    ).toBe(200);
  });

  it('a remembered verification ends with a password reset, deactivation or deletion', async () => {
    const headers = { authorization: basicHeader('flooder', 'flooder-password') };
    expect((await fetch(`${node.url}/v2/`, { headers })).status).toBe(200);
    await ok(node.url, 'PATCH', '/users/flooder', { auth: ROOT, body: { active: false } });
    expect((await fetch(`${node.url}/v2/`, { headers })).status).toBe(401);
    await ok(node.url, 'PATCH', '/users/flooder', { auth: ROOT, body: { active: true } });
    expect((await fetch(`${node.url}/v2/`, { headers })).status).toBe(200);
    await ok(node.url, 'PATCH', '/users/flooder', {
      auth: ROOT,
      body: { password: 'reset-password' },
    });
    expect((await fetch(`${node.url}/v2/`, { headers })).status).toBe(401);
    const reset = { authorization: basicHeader('flooder', 'reset-password') };
    expect((await fetch(`${node.url}/v2/`, { headers: reset })).status).toBe(200);
    await ok(node.url, 'DELETE', '/users/flooder', { auth: ROOT, expect: 204 });
    expect((await fetch(`${node.url}/v2/`, { headers: reset })).status).toBe(401);
  });
});
