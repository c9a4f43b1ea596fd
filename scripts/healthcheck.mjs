#!/usr/bin/env node
// The container HEALTHCHECK: exits 0 when this node's /api/v1/health/ready answers 200 (database
// and storage reachable; a "degraded" cache does not count), 1 otherwise. It asks the node at the
// address of LISTEN_ADDRESS, over HTTPS when TLS_CERT_FILE is set (without checking the certificate:
// its names need not cover the loopback address, and nothing leaves the container).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const listen = process.env.LISTEN_ADDRESS || '0.0.0.0:8080';
const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d+)$/.exec(listen);
const host = m?.[1] ?? m?.[2] ?? '';
const port = Number(m?.[3] ?? 8080);
// A wildcard address is asked on loopback; a specific one (the only one listening) as is.
const target = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
const tls = Boolean(process.env.TLS_CERT_FILE);
const send = tls ? httpsRequest : httpRequest;

const req = send(
  { host: target, port, path: '/api/v1/health/ready', timeout: 4000, rejectUnauthorized: false },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => {
  console.error(`health check failed: ${e.message}`);
  process.exit(1);
});
req.end();
