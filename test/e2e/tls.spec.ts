import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { join } from 'node:path';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { describeIfSkopeo, mkimage, skopeo } from '../support/skopeo.js';
import { TEST_ADMIN } from '../support/registry.js';
import { ConfigError } from '../../src/config/config.js';
import { readTlsMaterial } from '../../src/config/tls.js';
import {
  issueServerCert,
  makeTestPki,
  opensslAvailable,
  request,
  servedSerial,
  type ServerCert,
  type TestPki,
} from '../support/tls.js';

if (!opensslAvailable() && process.env.CI === 'true')
  throw new Error('openssl is required in CI (apt-get install -y openssl)');
if (!opensslAvailable()) console.warn('openssl is not installed: skipping the TLS tests');
const maybe = opensslAvailable() ? describe : describe.skip;

/** Not a database anybody listens on: start-up must stop at the configuration, before it. */
const NO_DATABASE = 'postgres://nobody@127.0.0.1:1/none';

maybe('HTTPS served by Aerugo (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  let pki: TestPki;
  let first: ServerCert;
  let server: TestServer;
  let live: { certFile: string; keyFile: string };
  const dir = tempDir('aerugo-tls-');

  /** Puts `cert` in place of the served files (what a certificate renewal does). */
  function install(cert: ServerCert) {
    copyFileSync(cert.certFile, live.certFile);
    copyFileSync(cert.keyFile, live.keyFile);
  }

  async function waitForSerial(serial: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const served = await servedSerial('127.0.0.1', server.port, pki.ca);
      if (served === serial) return;
      if (Date.now() > deadline)
        throw new Error(`still serving ${served}, expected ${serial}:\n${server.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    pki = await makeTestPki(dir);
    first = await issueServerCert(pki, 'first', ['127.0.0.1', 'localhost']);
    live = { certFile: join(dir, 'live.crt'), keyFile: join(dir, 'live.key') };
    install(first);
    server = await startServer({ tls: { ...live, ca: pki.ca }, env: { LOG_LEVEL: 'log' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('serves the registry and the API over HTTPS with the chain, trusted through the root CA', async () => {
    const base = await request(`${server.url}/v2/`, { ca: pki.ca });
    expect(base.status).toBe(401);
    // The token realm a client is sent to is the HTTPS address it came in on.
    expect(base.headers['www-authenticate']).toContain(`realm="${server.url}/auth/token"`);
    const health = await request(`${server.url}/api/v1/health`, { ca: pki.ca });
    expect(health.status).toBe(200);
    expect(await servedSerial('127.0.0.1', server.port, pki.ca)).toBe(first.serial);
    // Without the intermediate in TLS_CERT_FILE the client could not build the chain to the root.
    await expect(request(`${server.url}/v2/`)).rejects.toThrow(/certificate/i);
  });

  it('speaks HTTP/1.1 only (no h2 in ALPN), and no plain HTTP on the TLS port', async () => {
    const res = await request(`${server.url}/v2/`, { ca: pki.ca });
    expect(res.alpn === false || res.alpn === 'http/1.1').toBe(true);
    const h2 = http2Connect(server.url, { ca: pki.ca });
    const failure = await new Promise<Error>((resolve) => {
      h2.once('error', resolve);
      h2.once('connect', () => resolve(new Error('unexpected HTTP/2 session')));
    });
    h2.destroy();
    expect(failure.message).not.toBe('unexpected HTTP/2 session');
    await expect(fetch(`http://127.0.0.1:${server.port}/v2/`)).rejects.toThrow();
  });

  /** Waits until the node logs `pattern` (its log is read asynchronously). */
  async function waitForLog(pattern: RegExp): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!pattern.test(server.logs())) {
      if (Date.now() > deadline) throw new Error(`no log matching ${pattern}:\n${server.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('reloads the certificate on SIGHUP without dropping the server', async () => {
    const renewed = await issueServerCert(pki, 'renewed', ['127.0.0.1', 'localhost']);
    install(renewed);
    server.process.kill('SIGHUP');
    // The file watch may see the new files too; the SIGHUP path must load them by itself.
    await waitForLog(new RegExp(`reloaded \\(SIGHUP\\): .*serial 0*${renewed.serial}`));
    await waitForSerial(renewed.serial);
    expect(server.process.exitCode).toBeNull();
    expect((await request(`${server.url}/v2/`, { ca: pki.ca })).status).toBe(401);
  });

  it('reloads the certificate when the files change, with no signal', async () => {
    const third = await issueServerCert(pki, 'third', ['127.0.0.1', 'localhost']);
    install(third);
    await waitForLog(new RegExp(`reloaded \\(files changed\\): .*serial 0*${third.serial}`));
    await waitForSerial(third.serial);
  });

  it('keeps serving the previous certificate when the new files are bad', async () => {
    const before = await servedSerial('127.0.0.1', server.port, pki.ca);
    const other = await issueServerCert(pki, 'other', ['127.0.0.1']);
    copyFileSync(other.keyFile, live.keyFile); // a key that does not match the certificate
    server.process.kill('SIGHUP');
    await waitForLog(/TLS certificate not reloaded \(SIGHUP\).*TLS_KEY_FILE/);
    expect(await servedSerial('127.0.0.1', server.port, pki.ca)).toBe(before);
    expect((await request(`${server.url}/v2/`, { ca: pki.ca })).status).toBe(401);
  });

  (describeIfSkopeo() ? it : it.skip)(
    'skopeo pushes and pulls over HTTPS with verification on (--cert-dir with the root CA)',
    async () => {
      const certDir = tempDir('aerugo-certdir-');
      copyFileSync(pki.caFile, join(certDir, 'ca.crt'));
      const src = tempDir('aerugo-tls-img-');
      await mkimage(src, 'v1', '256k');
      const host = `127.0.0.1:${server.port}`;
      const creds = `${TEST_ADMIN.username}:${TEST_ADMIN.password}`;
      await skopeo(
        'copy',
        '--dest-cert-dir',
        certDir,
        '--dest-creds',
        creds,
        `oci:${src}:v1`,
        `docker://${host}/tls/app:v1`,
      );
      const raw = await skopeo(
        'inspect',
        '--cert-dir',
        certDir,
        '--creds',
        creds,
        '--raw',
        `docker://${host}/tls/app:v1`,
      );
      expect(JSON.parse(raw).layers).toHaveLength(1);
      // Without the CA, verification fails: the certificate really is checked.
      await expect(
        skopeo('inspect', '--creds', creds, '--raw', `docker://${host}/tls/app:v1`),
      ).rejects.toThrow(/certificate|x509/i);
    },
  );
});

maybe('bad TLS files stop start-up with a message naming the variable', () => {
  let pki: TestPki;
  let good: ServerCert;
  let other: ServerCert;
  const dir = tempDir('aerugo-tls-bad-');

  beforeAll(async () => {
    pki = await makeTestPki(dir);
    good = await issueServerCert(pki, 'good', ['127.0.0.1']);
    other = await issueServerCert(pki, 'other', ['127.0.0.1']);
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
    writeFileSync(
      join(dir, 'broken.pem'),
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    );
  });

  const refused = (env: Record<string, string>) =>
    startServer({ databaseUrl: NO_DATABASE, env: { ...env } });

  // The checks themselves, called directly (a start-up per case would cost seconds each).
  it.each([
    [
      'a missing certificate file',
      () => ({ cert: join(dir, 'missing.pem') }),
      /TLS_CERT_FILE cannot be read/,
    ],
    [
      'a file without a certificate',
      () => ({ cert: join(dir, 'garbage.pem') }),
      /TLS_CERT_FILE holds no PEM certificate/,
    ],
    [
      'a malformed certificate',
      () => ({ cert: join(dir, 'broken.pem') }),
      /TLS_CERT_FILE has a malformed certificate/,
    ],
    [
      'a missing key file',
      () => ({ key: join(dir, 'missing.key') }),
      /TLS_KEY_FILE cannot be read/,
    ],
    [
      'a key that is not a key',
      () => ({ key: join(dir, 'garbage.pem') }),
      /TLS_KEY_FILE is not an unencrypted PEM private key/,
    ],
    [
      'the key of another certificate',
      () => ({ key: other.keyFile }),
      /TLS_KEY_FILE does not belong/,
    ],
  ])('refuses %s, naming the variable', (_what, files, message) => {
    const f = files() as { cert?: string; key?: string };
    const read = () =>
      readTlsMaterial({ certFile: f.cert ?? good.certFile, keyFile: f.key ?? good.keyFile });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(message);
  });

  it('accepts the certificate with its chain', () => {
    const m = readTlsMaterial({ certFile: good.certFile, keyFile: good.keyFile });
    expect(m.leaf.serialNumber.replace(/^0+/, '')).toBe(good.serial);
  });

  it('a bad file stops start-up (exit code 2) with the message', async () => {
    const unreadable = refused({
      TLS_CERT_FILE: join(dir, 'missing.pem'),
      TLS_KEY_FILE: good.keyFile,
    });
    await expect(unreadable).rejects.toThrow(/server exited with 2/);
    await expect(unreadable).rejects.toThrow(/Invalid configuration: TLS_CERT_FILE cannot be read/);
    const mismatch = refused({ TLS_CERT_FILE: good.certFile, TLS_KEY_FILE: other.keyFile });
    await expect(mismatch).rejects.toThrow(/server exited with 2/);
    await expect(mismatch).rejects.toThrow(/TLS_KEY_FILE does not belong/);
    await expect(refused({ TLS_CERT_FILE: good.certFile })).rejects.toThrow(
      /TLS_KEY_FILE is required when TLS_CERT_FILE is set/,
    );
  });
});
