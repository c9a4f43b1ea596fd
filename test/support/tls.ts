/**
 * A throw-away PKI for TLS tests, made with the openssl command: a root CA (what clients trust),
 * an intermediate CA, and server certificates issued by the intermediate whose file holds the
 * chain (server certificate, then intermediate), as TLS_CERT_FILE expects.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function opensslAvailable(): boolean {
  return ['/usr/bin/openssl', '/usr/local/bin/openssl'].some((p) => existsSync(p));
}

async function openssl(...args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')}: ${(e as { stderr?: string }).stderr ?? e}`, {
      cause: e,
    });
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface TestPki {
  dir: string;
  /** The root CA certificate clients trust (docker's certs.d `ca.crt`). */
  caFile: string;
  ca: Buffer;
  intermediateCert: string;
  intermediateKey: string;
}

export interface ServerCert {
  /** Server certificate followed by the intermediate CA (TLS_CERT_FILE). */
  certFile: string;
  keyFile: string;
  serial: string;
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const p = (f: string) => join(dir, f);
  await openssl(
    'req',
    '-x509',
    ...EC,
    '-keyout',
    p('root.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=Aerugo test root CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl(
    'req',
    '-new',
    ...EC,
    '-keyout',
    p('intermediate.key'),
    '-out',
    p('intermediate.csr'),
    '-subj',
    '/CN=Aerugo test intermediate CA',
  );
  writeFileSync(
    p('intermediate.ext'),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' +
      'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    p('intermediate.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('root.key'),
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    p('intermediate.ext'),
    '-out',
    p('intermediate.crt'),
  );
  return {
    dir,
    caFile: p('ca.crt'),
    ca: readFileSync(p('ca.crt')),
    intermediateCert: p('intermediate.crt'),
    intermediateKey: p('intermediate.key'),
  };
}

/** A server certificate for `hosts` (IPs or DNS names), written as `<name>.crt`/`<name>.key`. */
export async function issueServerCert(
  pki: TestPki,
  name: string,
  hosts: string[],
): Promise<ServerCert> {
  const p = (f: string) => join(pki.dir, f);
  const serial = randomBytes(8).toString('hex').toUpperCase().replace(/^0+/, '');
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await openssl(
    'req',
    '-new',
    ...EC,
    '-keyout',
    p(`${name}.key`),
    '-out',
    p(`${name}.csr`),
    '-subj',
    `/CN=${hosts[0]}`,
  );
  writeFileSync(
    p(`${name}.ext`),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n` +
      'extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n',
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    p(`${name}.csr`),
    '-CA',
    pki.intermediateCert,
    '-CAkey',
    pki.intermediateKey,
    '-set_serial',
    `0x${serial}`,
    '-days',
    '2',
    '-extfile',
    p(`${name}.ext`),
    '-out',
    p(`${name}.leaf.crt`),
  );
  writeFileSync(
    p(`${name}.crt`),
    Buffer.concat([readFileSync(p(`${name}.leaf.crt`)), readFileSync(pki.intermediateCert)]),
  );
  return { certFile: p(`${name}.crt`), keyFile: p(`${name}.key`), serial };
}

/**
 * This machine's first non-loopback IPv4 address. docker treats every 127.0.0.0/8 registry as
 * "insecure" (it accepts any certificate there, and plain HTTP), so only an address outside it
 * proves that docker verifies Aerugo's certificate against the CA in certs.d.
 */
export function externalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** The serial number (hex, as issueServerCert reports it) of the certificate host:port serves. */
export async function servedSerial(host: string, port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca, servername: isIP(host) ? undefined : host }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial.toUpperCase().replace(/^0+/, ''));
    });
    socket.once('error', reject);
  });
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  alpn?: string | false;
}

/** One HTTP(S) request that trusts `ca` (the global fetch cannot be given a CA). */
export async function request(
  url: string,
  opts: { ca?: Buffer; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<SimpleResponse> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, agent: false },
      (res) => {
        const alpn = (res.socket as { alpnProtocol?: string | false }).alpnProtocol;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            alpn,
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(opts.body);
  });
}

/** A management API call over HTTPS: JSON in and out; throws unless the status is `expect`. */
export async function apiCall(
  base: string,
  ca: Buffer,
  method: string,
  path: string,
  opts: { basic?: [string, string]; body?: unknown; expect?: number } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies; the tests check their shape
): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.basic)
    headers.authorization = `Basic ${Buffer.from(opts.basic.join(':')).toString('base64')}`;
  const res = await request(`${base}/api/v1${path}`, {
    ca,
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const expected = opts.expect ?? (method === 'POST' ? 201 : 200);
  if (res.status !== expected)
    throw new Error(`${method} ${path}: ${res.status} (expected ${expected}) ${res.body}`);
  return res.body ? JSON.parse(res.body) : undefined;
}
