import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, parseListenAddress } from '../../src/config/config.js';

describe('config', () => {
  it('has zero-setup defaults', () => {
    const c = loadConfig({});
    expect(c.listenHost).toBe('0.0.0.0');
    expect(c.listenPort).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.storageDriver).toBe('filesystem');
    expect(c.maxManifestBytes).toBe(4 * 1024 * 1024);
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress('127.0.0.1:5000')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(parseListenAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseListenAddress(':80')).toEqual({ host: '0.0.0.0', port: 80 });
  });

  it.each([
    [{ LISTEN_ADDRESS: 'x' }, 'LISTEN_ADDRESS'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://h/db' }, 'DATABASE_URL'],
    [{ STORAGE_DRIVER: 'tape' }, 'STORAGE_DRIVER'],
    [{ STORAGE_DRIVER: 's3' }, 'S3_BUCKET'],
    [{ S3_BUCKET: 'b', S3_ACCESS_KEY: 'k' }, 'S3_SECRET_KEY'],
    [{ REDIS_TTL_SECONDS: '-5' }, 'REDIS_TTL_SECONDS'],
    [{ TLS_CERT_FILE: '/c.pem' }, 'TLS_KEY_FILE'],
    [{ TLS_KEY_FILE: '/k.pem' }, 'TLS_CERT_FILE'],
    [
      { S3_BUCKET: 'b', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's', S3_REDIRECT: 'maybe' },
      'S3_REDIRECT',
    ],
  ])('%j names %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });

  it('serves plain HTTP unless both TLS files are named', () => {
    expect(loadConfig({}).tls).toBeUndefined();
    expect(loadConfig({ TLS_CERT_FILE: '/etc/a/c.pem', TLS_KEY_FILE: 'k.pem' }).tls).toEqual({
      certFile: '/etc/a/c.pem',
      keyFile: `${process.cwd()}/k.pem`,
    });
  });

  it('refuses registry tokens shorter than docker caches them (60 s), saying why', () => {
    expect(loadConfig({ REGISTRY_TOKEN_TTL_SECONDS: '60' }).auth.registryTokenTtlSeconds).toBe(60);
    for (const ttl of ['1', '59']) {
      expect(() => loadConfig({ REGISTRY_TOKEN_TTL_SECONDS: ttl })).toThrow(
        `Invalid configuration: REGISTRY_TOKEN_TTL_SECONDS must be at least 60, got ${ttl}: docker`,
      );
    }
  });

  it('selects S3 when a bucket is configured', () => {
    const c = loadConfig({ S3_BUCKET: 'b', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' });
    expect(c.storageDriver).toBe('s3');
    expect(c.s3?.redirect).toBe(true);
    expect(c.s3?.presignExpirySeconds).toBe(1200);
  });

  it('observability: JSON logs, metrics off the public port, storage timed, 5 s pull flushes', () => {
    const c = loadConfig({});
    expect(c.logFormat).toBe('json');
    expect(c.metrics).toEqual({ token: undefined, address: undefined, storageTiming: true });
    expect(c.pullStatsFlushSeconds).toBe(5);
    const set = loadConfig({
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'pretty',
      METRICS_TOKEN: 'a-long-enough-token',
      METRICS_ADDRESS: '127.0.0.1:9464',
      METRICS_STORAGE_TIMING: 'false',
    });
    expect(set.logLevel).toBe('log');
    expect(set.logFormat).toBe('pretty');
    expect(set.metrics).toEqual({
      token: 'a-long-enough-token',
      address: { host: '127.0.0.1', port: 9464 },
      storageTiming: false,
    });
    expect(loadConfig({ LOG_LEVEL: 'trace' }).logLevel).toBe('verbose');
  });

  it.each([
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
    [{ METRICS_TOKEN: 'has a space in it, sadly' }, 'METRICS_TOKEN'],
    [{ METRICS_ADDRESS: '9464' }, 'METRICS_ADDRESS'],
    [{ PULL_STATS_FLUSH_SECONDS: '0' }, 'PULL_STATS_FLUSH_SECONDS'],
  ])('%j names %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
