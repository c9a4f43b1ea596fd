import { availableParallelism } from 'node:os';
import { describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import {
  type AppConfig,
  ConfigError,
  loadConfig,
  parseListenAddress,
} from '../../src/config/config.js';

/**
 * Every variable of src/config/config.ts, at and just beyond its bounds, with the exact message
 * an operator sees (mutation testing holds these rules to account: npm run test:mutation).
 */

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error(`${JSON.stringify(env)} was accepted`);
}

describe('defaults', () => {
  it('are exactly these', () => {
    const expected: AppConfig = {
      listenHost: '0.0.0.0',
      listenPort: 8080,
      publicUrl: undefined,
      trustProxy: false,
      tls: undefined,
      dataDir: resolve('./data'),
      databaseUrl: undefined,
      embeddedPostgresPort: undefined,
      workers: 1,
      databasePoolSize: 20,
      storageDriver: 'filesystem',
      storageFsync: true,
      s3: undefined,
      redisUrl: undefined,
      redisTtlSeconds: 300,
      uploadTtlSeconds: 86400,
      uploadSweepIntervalSeconds: 600,
      maxManifestBytes: 4 * 1024 * 1024,
      logLevel: 'log',
      logFormat: 'json',
      metrics: { token: undefined, address: undefined, storageTiming: true },
      pullStatsFlushSeconds: 5,
      audit: { pulls: false, retentionDays: 90 },
      oidc: undefined,
      auth: {
        jwtSecret: undefined,
        accessTokenTtlSeconds: 900,
        refreshTokenTtlSeconds: 30 * 24 * 3600,
        registryTokenTtlSeconds: 300,
        registryService: 'aerugo',
        registrationEnabled: true,
        localPasswords: 'all',
        adminUsername: undefined,
        adminPassword: undefined,
        rateLimitWindowSeconds: 300,
        rateLimitPerAccount: 10,
        rateLimitPerAddress: 50,
        failureDelaySeconds: 1,
        registrationLimitWindowSeconds: 3600,
        registrationLimitPerAddress: 10,
        passwordHashConcurrency: 2,
        passwordChecksPerAddress: 8,
        credentialCacheSeconds: 60,
      },
      webhooks: {
        allowPrivateTargets: false,
        timeoutSeconds: 10,
        maxAttempts: 8,
        retryBaseSeconds: 30,
      },
      defaultRepositoryVisibility: 'private',
      http: { headersTimeoutSeconds: 30, idleTimeoutSeconds: 60, requestTimeoutSeconds: 120 },
      uploads: {
        leaseSeconds: 60,
        maxConcurrent: 256,
        maxConcurrentPerUser: 64,
        maxSessionsPerUser: 1000,
        maxSessionsPerRepository: 1000,
      },
      gc: { intervalSeconds: 3600, graceSeconds: 3600 },
      defaultNamespaceQuotaBytes: undefined,
      threadPoolSize: 4,
    };
    expect(loadConfig({})).toStrictEqual(expected);
  });

  it('treat empty and blank variables as unset, and trim values', () => {
    expect(loadConfig({ LISTEN_ADDRESS: '  ', REDIS_TTL_SECONDS: '' })).toEqual(loadConfig({}));
    expect(loadConfig({ REDIS_TTL_SECONDS: ' 42 ' }).redisTtlSeconds).toBe(42);
    expect(loadConfig({ LOG_LEVEL: ' debug ' }).logLevel).toBe('debug');
  });
});

type Pick = (c: AppConfig) => unknown;

/** [variable, where it lands, default, min, max] */
const INTEGERS: [string, Pick, number, number, number][] = [
  ['DATABASE_POOL_SIZE', (c) => c.databasePoolSize, 20, 2, 500],
  ['REDIS_TTL_SECONDS', (c) => c.redisTtlSeconds, 300, 1, 30 * 24 * 3600],
  ['UPLOAD_TTL_SECONDS', (c) => c.uploadTtlSeconds, 86400, 60, 30 * 24 * 3600],
  ['UPLOAD_SWEEP_INTERVAL_SECONDS', (c) => c.uploadSweepIntervalSeconds, 600, 1, 86400],
  ['MAX_MANIFEST_BYTES', (c) => c.maxManifestBytes, 4 * 1024 * 1024, 1024, 64 * 1024 * 1024],
  ['JWT_ACCESS_TTL_SECONDS', (c) => c.auth.accessTokenTtlSeconds, 900, 1, 86400],
  [
    'JWT_REFRESH_TTL_SECONDS',
    (c) => c.auth.refreshTokenTtlSeconds,
    30 * 24 * 3600,
    60,
    365 * 24 * 3600,
  ],
  ['REGISTRY_TOKEN_TTL_SECONDS', (c) => c.auth.registryTokenTtlSeconds, 300, 60, 86400],
  ['AUTH_RATE_LIMIT_WINDOW_SECONDS', (c) => c.auth.rateLimitWindowSeconds, 300, 1, 86400],
  ['AUTH_RATE_LIMIT_PER_ACCOUNT', (c) => c.auth.rateLimitPerAccount, 10, 1, 1000000],
  ['AUTH_RATE_LIMIT_PER_ADDRESS', (c) => c.auth.rateLimitPerAddress, 50, 1, 1000000],
  [
    'REGISTRATION_RATE_LIMIT_WINDOW_SECONDS',
    (c) => c.auth.registrationLimitWindowSeconds,
    3600,
    1,
    7 * 24 * 3600,
  ],
  [
    'REGISTRATION_RATE_LIMIT_PER_ADDRESS',
    (c) => c.auth.registrationLimitPerAddress,
    10,
    1,
    1000000,
  ],
  ['AUTH_PASSWORD_CHECKS_PER_ADDRESS', (c) => c.auth.passwordChecksPerAddress, 8, 1, 10000],
  ['AUTH_CREDENTIAL_CACHE_SECONDS', (c) => c.auth.credentialCacheSeconds, 60, 0, 3600],
  ['HTTP_HEADERS_TIMEOUT_SECONDS', (c) => c.http.headersTimeoutSeconds, 30, 1, 3600],
  ['HTTP_IDLE_TIMEOUT_SECONDS', (c) => c.http.idleTimeoutSeconds, 60, 1, 3600],
  ['HTTP_REQUEST_TIMEOUT_SECONDS', (c) => c.http.requestTimeoutSeconds, 120, 1, 86400],
  ['UPLOAD_LEASE_SECONDS', (c) => c.uploads.leaseSeconds, 60, 1, 3600],
  ['UPLOAD_MAX_CONCURRENT', (c) => c.uploads.maxConcurrent, 256, 1, 100000],
  ['UPLOAD_MAX_CONCURRENT_PER_USER', (c) => c.uploads.maxConcurrentPerUser, 64, 1, 100000],
  ['AUDIT_RETENTION_DAYS', (c) => c.audit.retentionDays, 90, 0, 100 * 365],
  ['UPLOAD_MAX_SESSIONS_PER_USER', (c) => c.uploads.maxSessionsPerUser, 1000, 1, 10000000],
  [
    'UPLOAD_MAX_SESSIONS_PER_REPOSITORY',
    (c) => c.uploads.maxSessionsPerRepository,
    1000,
    1,
    10000000,
  ],
  ['S3_PRESIGN_EXPIRY_SECONDS', (c) => c.s3?.presignExpirySeconds, 1200, 1, 7 * 24 * 3600],
  ['GC_INTERVAL_SECONDS', (c) => c.gc.intervalSeconds, 3600, 1, 7 * 24 * 3600],
  ['EMBEDDED_PG_PORT', (c) => c.embeddedPostgresPort, NaN, 1, 65535],
  ['WEBHOOK_TIMEOUT_SECONDS', (c) => c.webhooks.timeoutSeconds, 10, 1, 120],
  ['WEBHOOK_MAX_ATTEMPTS', (c) => c.webhooks.maxAttempts, 8, 1, 50],
  ['WEBHOOK_RETRY_BASE_SECONDS', (c) => c.webhooks.retryBaseSeconds, 30, 1, 3600],
];

const S3 = { S3_BUCKET: 'b', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's' };

describe.each(INTEGERS)('%s', (name, pick, def, min, max) => {
  const env = (v: string) => ({ ...S3, [name]: v });
  it(`defaults to ${def} and accepts ${min} and ${max}`, () => {
    if (!Number.isNaN(def)) expect(pick(loadConfig({ ...S3 }))).toBe(def);
    expect(pick(loadConfig(env(String(min))))).toBe(min);
    expect(pick(loadConfig(env(String(max))))).toBe(max);
  });
  it(`refuses ${max + 1}, numbers below ${min}, and what is not a whole number`, () => {
    expect(refusal(env(String(max + 1)))).toBe(
      `Invalid configuration: ${name} must be between ${min} and ${max}, got ${max + 1}`,
    );
    if (min > 0 && name !== 'REGISTRY_TOKEN_TTL_SECONDS')
      expect(refusal(env(String(min - 1)))).toBe(
        `Invalid configuration: ${name} must be between ${min} and ${max}, got ${min - 1}`,
      );
    for (const bad of ['-1', '1.5', '12abc', 'abc12', '0x10'])
      expect(refusal(env(bad))).toBe(
        `Invalid configuration: ${name} must be a whole number, got "${bad}"`,
      );
  });
});

describe('WORKERS', () => {
  it('is a number of processes, or auto for one per CPU', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(Math.min(availableParallelism(), 64));
    expect(loadConfig({ WORKERS: 'AUTO' }).workers).toBe(Math.min(availableParallelism(), 64));
  });
  it('refuses anything else, naming the variable', () => {
    expect(refusal({ WORKERS: '0' })).toBe(
      'Invalid configuration: WORKERS must be between 1 and 64, got 0',
    );
    expect(refusal({ WORKERS: '65' })).toBe(
      'Invalid configuration: WORKERS must be between 1 and 64, got 65',
    );
    for (const bad of ['two', '1.5', '-1', 'auto2'])
      expect(refusal({ WORKERS: bad })).toBe(
        `Invalid configuration: WORKERS must be a number of processes or "auto", got "${bad}"`,
      );
  });
});

describe('DEFAULT_NAMESPACE_QUOTA_BYTES', () => {
  it('is unset by default (no quota), accepts 0 to 2^53-1 bytes, refuses the rest', () => {
    expect(loadConfig({}).defaultNamespaceQuotaBytes).toBeUndefined();
    expect(loadConfig({ DEFAULT_NAMESPACE_QUOTA_BYTES: '0' }).defaultNamespaceQuotaBytes).toBe(0);
    expect(
      loadConfig({ DEFAULT_NAMESPACE_QUOTA_BYTES: '10737418240' }).defaultNamespaceQuotaBytes,
    ).toBe(10737418240);
    expect(refusal({ DEFAULT_NAMESPACE_QUOTA_BYTES: '10GB' })).toBe(
      'Invalid configuration: DEFAULT_NAMESPACE_QUOTA_BYTES must be a whole number, got "10GB"',
    );
    expect(refusal({ DEFAULT_NAMESPACE_QUOTA_BYTES: '9007199254740992' })).toBe(
      'Invalid configuration: DEFAULT_NAMESPACE_QUOTA_BYTES must be between 0 and 9007199254740991, got 9007199254740992',
    );
  });
});

describe('GC_GRACE_SECONDS', () => {
  it('defaults to 3600, accepts 0 to 30 days, refuses more', () => {
    expect(loadConfig({}).gc.graceSeconds).toBe(3600);
    expect(loadConfig({ GC_GRACE_SECONDS: '0' }).gc.graceSeconds).toBe(0);
    expect(loadConfig({ GC_GRACE_SECONDS: String(30 * 86400) }).gc.graceSeconds).toBe(30 * 86400);
    expect(refusal({ GC_GRACE_SECONDS: String(30 * 86400 + 1) })).toBe(
      `Invalid configuration: GC_GRACE_SECONDS must be between 0 and ${30 * 86400}, got ${30 * 86400 + 1}`,
    );
  });
  it.each([
    // [GC_GRACE_SECONDS, S3_REDIRECT, S3_PRESIGN_EXPIRY_SECONDS, grace in force]
    ['1', 'true', '1200', 1200],
    ['1', 'false', '1200', 1],
    ['5000', 'true', '1200', 5000],
    ['0', 'true', '1', 1],
    ['1200', 'true', '1200', 1200],
  ])(
    'never shorter than a presigned URL lives: grace %s, redirect %s, expiry %s -> %s',
    (grace, redirect, expiry, expected) => {
      const c = loadConfig({
        ...S3,
        GC_GRACE_SECONDS: grace,
        S3_REDIRECT: redirect,
        S3_PRESIGN_EXPIRY_SECONDS: expiry,
      });
      expect(c.gc.graceSeconds).toBe(expected);
    },
  );
  it('the filesystem driver takes it as it is', () => {
    expect(loadConfig({ GC_GRACE_SECONDS: '1' }).gc.graceSeconds).toBe(1);
  });
});

describe('booleans', () => {
  it.each([
    ['REGISTRATION_ENABLED', (c: AppConfig) => c.auth.registrationEnabled, true],
    ['S3_USE_PATH_STYLE', (c: AppConfig) => c.s3?.usePathStyle, true],
    ['S3_REDIRECT', (c: AppConfig) => c.s3?.redirect, true],
    ['WEBHOOK_ALLOW_PRIVATE_TARGETS', (c: AppConfig) => c.webhooks.allowPrivateTargets, false],
    ['AUDIT_PULLS', (c: AppConfig) => c.audit.pulls, false],
    ['STORAGE_FSYNC', (c: AppConfig) => c.storageFsync, true],
  ] as [string, Pick, boolean][])('%s', (name, pick, def) => {
    expect(pick(loadConfig(S3))).toBe(def);
    for (const v of ['1', 'true', 'TRUE', 'Yes', 'on'])
      expect(pick(loadConfig({ ...S3, [name]: v }))).toBe(true);
    for (const v of ['0', 'false', 'False', 'NO', 'off'])
      expect(pick(loadConfig({ ...S3, [name]: v }))).toBe(false);
    for (const v of ['maybe', 'truey', 'xtrue', 'offx', '2'])
      expect(refusal({ ...S3, [name]: v })).toBe(
        `Invalid configuration: ${name} must be true or false, got "${v}"`,
      );
  });
});

describe('URLs', () => {
  it('PUBLIC_URL: http or https, trailing slashes dropped', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://r.example.com//' }).publicUrl).toBe(
      'https://r.example.com',
    );
    expect(loadConfig({ PUBLIC_URL: 'http://r.example.com/base/' }).publicUrl).toBe(
      'http://r.example.com/base',
    );
    expect(refusal({ PUBLIC_URL: 'ftp://r.example.com' })).toBe(
      'Invalid configuration: PUBLIC_URL must use one of http:, https:',
    );
    expect(refusal({ PUBLIC_URL: 'r.example.com' })).toBe(
      'Invalid configuration: PUBLIC_URL must be a URL',
    );
  });

  it('DATABASE_URL and REDIS_URL keep what was given', () => {
    for (const u of ['postgres://u:p@h:5432/db', 'postgresql://h/db'])
      expect(loadConfig({ DATABASE_URL: u }).databaseUrl).toBe(u);
    expect(refusal({ DATABASE_URL: 'mysql://h/db' })).toBe(
      'Invalid configuration: DATABASE_URL must use one of postgres:, postgresql:',
    );
    for (const u of ['redis://h:6379', 'rediss://h:6380/2'])
      expect(loadConfig({ REDIS_URL: u }).redisUrl).toBe(u);
    expect(refusal({ REDIS_URL: 'http://h' })).toBe(
      'Invalid configuration: REDIS_URL must use one of redis:, rediss:',
    );
  });
});

describe('storage', () => {
  it('filesystem unless a bucket is set or s3 is asked for', () => {
    expect(loadConfig({}).storageDriver).toBe('filesystem');
    expect(loadConfig({ STORAGE_DRIVER: 'filesystem', ...S3 }).storageDriver).toBe('filesystem');
    expect(loadConfig({ STORAGE_DRIVER: 'filesystem', ...S3 }).s3).toBeUndefined();
    expect(loadConfig({ ...S3 }).storageDriver).toBe('s3');
    expect(loadConfig({ STORAGE_DRIVER: 's3', ...S3 }).storageDriver).toBe('s3');
    expect(refusal({ STORAGE_DRIVER: 'S3' })).toBe(
      'Invalid configuration: STORAGE_DRIVER must be "filesystem" or "s3", got "S3"',
    );
  });

  it('s3 settings, with their defaults and requirements', () => {
    expect(loadConfig({ ...S3 }).s3).toStrictEqual({
      endpoint: undefined,
      publicEndpoint: undefined,
      bucket: 'b',
      accessKey: 'k',
      secretKey: 's',
      region: 'us-east-1',
      usePathStyle: true,
      redirect: true,
      presignExpirySeconds: 1200,
    });
    expect(
      loadConfig({
        ...S3,
        S3_ENDPOINT: 'http://s3:9000',
        S3_PUBLIC_ENDPOINT: 'https://s3.example.com',
        S3_REGION: 'eu-west-3',
      }).s3,
    ).toMatchObject({
      endpoint: 'http://s3:9000',
      publicEndpoint: 'https://s3.example.com',
      region: 'eu-west-3',
    });
    expect(refusal({ ...S3, S3_ENDPOINT: 's3://x' })).toBe(
      'Invalid configuration: S3_ENDPOINT must use one of http:, https:',
    );
    expect(refusal({ ...S3, S3_PUBLIC_ENDPOINT: 's3://x' })).toBe(
      'Invalid configuration: S3_PUBLIC_ENDPOINT must use one of http:, https:',
    );
    for (const missing of ['S3_BUCKET', 'S3_ACCESS_KEY', 'S3_SECRET_KEY']) {
      const env: Record<string, string> = { STORAGE_DRIVER: 's3', ...S3 };
      delete env[missing];
      expect(refusal(env)).toBe(
        `Invalid configuration: ${missing} is required when the S3 storage driver is selected`,
      );
    }
  });
});

describe('listen address', () => {
  it.each([
    ['127.0.0.1:5000', { host: '127.0.0.1', port: 5000 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['[fe80::1]:0', { host: 'fe80::1', port: 0 }],
    [':65535', { host: '0.0.0.0', port: 65535 }],
    ['registry.local:8080', { host: 'registry.local', port: 8080 }],
  ])('%s', (raw, expected) => {
    expect(parseListenAddress(raw)).toEqual(expected);
    expect(loadConfig({ LISTEN_ADDRESS: raw })).toMatchObject({
      listenHost: expected.host,
      listenPort: expected.port,
    });
  });

  it.each(['x', '1.2.3.4', '1.2.3.4:', '1.2.3.4:123456', '[::1]80', 'a:b', ' :80x'])(
    'refuses %j',
    (raw) => {
      expect(() => parseListenAddress(raw)).toThrow(
        `Invalid configuration: LISTEN_ADDRESS must be host:port, got "${raw}"`,
      );
    },
  );

  it('refuses ports above 65535', () => {
    expect(() => parseListenAddress('h:65536')).toThrow(
      'Invalid configuration: LISTEN_ADDRESS has an invalid port 65536',
    );
  });
});

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['No', false],
    ['OFF', false],
    ['0', false],
    ['1', 1],
    ['100', 100],
    ['loopback', ['loopback']],
    [
      'loopback, linklocal,uniquelocal , 10.0.0.1',
      ['loopback', 'linklocal', 'uniquelocal', '10.0.0.1'],
    ],
    ['10.0.0.0/8,::1,fd00::/8', ['10.0.0.0/8', '::1', 'fd00::/8']],
    ['10.0.0.0/0,10.0.0.0/32,::/128', ['10.0.0.0/0', '10.0.0.0/32', '::/128']],
    ['10.0.0.0/255.0.0.0', ['10.0.0.0/255.0.0.0']],
  ] as [string | undefined, unknown][])('%j trusts %j', (raw, expected) => {
    expect(loadConfig(raw === undefined ? {} : { TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it('refuses "true": trusting every hop lets clients choose their address', () => {
    for (const raw of ['true', 'YES', 'on'])
      expect(refusal({ TRUST_PROXY: raw })).toBe(
        'Invalid configuration: TRUST_PROXY must be the number of proxies in front of the node or ' +
          'their addresses, not "true" (trusting every hop would let clients choose their own address)',
      );
  });

  it.each([
    ['101', 'Invalid configuration: TRUST_PROXY must be between 0 and 100, got 101'],
    ...[
      'somewhere',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/1234',
      '::1/255.0.0.0',
      '10.0.0.0/255.0.0',
      '10.0.0.0/',
      'loopback2',
      '10.0.0.1,',
    ].map((bad) => [
      bad,
      'Invalid configuration: TRUST_PROXY must be false, a number of proxies, or a ' +
        'comma-separated list of IP addresses, subnets or loopback/linklocal/uniquelocal; ' +
        `"${bad.split(',').find((e) => !/^10\.0\.0\.1$/.test(e)) ?? ''}" is none of these`,
    ]),
  ])('refuses %j', (raw, message) => {
    expect(refusal({ TRUST_PROXY: raw })).toBe(message);
  });
});

describe('TLS', () => {
  it('needs both files, and resolves them', () => {
    expect(loadConfig({ TLS_CERT_FILE: 'c.pem', TLS_KEY_FILE: '/k.pem' }).tls).toStrictEqual({
      certFile: resolve('c.pem'),
      keyFile: '/k.pem',
    });
    expect(refusal({ TLS_CERT_FILE: 'c.pem' })).toBe(
      'Invalid configuration: TLS_KEY_FILE is required when TLS_CERT_FILE is set',
    );
    expect(refusal({ TLS_KEY_FILE: 'k.pem' })).toBe(
      'Invalid configuration: TLS_CERT_FILE is required when TLS_KEY_FILE is set',
    );
  });
});

describe('identity settings', () => {
  it('LOG_LEVEL', () => {
    for (const l of ['error', 'warn', 'log', 'debug', 'verbose'])
      expect(loadConfig({ LOG_LEVEL: l }).logLevel).toBe(l);
    // pino's names: info is log, trace is verbose.
    expect(loadConfig({ LOG_LEVEL: 'info' }).logLevel).toBe('log');
    expect(loadConfig({ LOG_LEVEL: 'trace' }).logLevel).toBe('verbose');
    expect(refusal({ LOG_LEVEL: 'loud' })).toBe(
      'Invalid configuration: LOG_LEVEL must be one of error, warn, log (info), debug, verbose',
    );
  });

  it('JWT_SECRET: at least 32 characters', () => {
    expect(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).auth.jwtSecret).toBe('x'.repeat(32));
    expect(refusal({ JWT_SECRET: 'x'.repeat(31) })).toBe(
      'Invalid configuration: JWT_SECRET must be at least 32 characters long',
    );
  });

  it('ADMIN_USERNAME and ADMIN_PASSWORD: both or neither, a valid name, 8 to 256 characters', () => {
    const ok = loadConfig({ ADMIN_USERNAME: 'Root.Admin', ADMIN_PASSWORD: '12345678' }).auth;
    expect([ok.adminUsername, ok.adminPassword]).toEqual(['root.admin', '12345678']);
    for (const name of ['a', 'a-b', 'a--b', 'a__b', 'a_b', 'x'.repeat(64)])
      expect(
        loadConfig({ ADMIN_USERNAME: name, ADMIN_PASSWORD: '12345678' }).auth.adminUsername,
      ).toBe(name);
    expect(refusal({ ADMIN_USERNAME: 'root' })).toBe(
      'Invalid configuration: ADMIN_PASSWORD is required when ADMIN_USERNAME is set',
    );
    expect(refusal({ ADMIN_PASSWORD: '12345678' })).toBe(
      'Invalid configuration: ADMIN_USERNAME is required when ADMIN_PASSWORD is set',
    );
    for (const name of ['x'.repeat(65), 'a..b', '-a', 'a-', 'a___b', 'a b', 'a/b', '_a'])
      expect(refusal({ ADMIN_USERNAME: name, ADMIN_PASSWORD: '12345678' })).toBe(
        `Invalid configuration: ADMIN_USERNAME must be a valid user name (letters, digits, separators), got "${name}"`,
      );
    expect(
      loadConfig({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'p'.repeat(256) }).auth.adminPassword,
    ).toHaveLength(256);
    for (const password of ['1234567', 'p'.repeat(257)])
      expect(refusal({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: password })).toBe(
        'Invalid configuration: ADMIN_PASSWORD must be between 8 and 256 characters long',
      );
  });

  it('REGISTRY_SERVICE: printable ASCII without spaces, quotes or backslashes, 1 to 255', () => {
    for (const s of ['registry.example.com', '!#[]~', 'x'.repeat(255)])
      expect(loadConfig({ REGISTRY_SERVICE: s }).auth.registryService).toBe(s);
    for (const s of ['a b', 'a"b', 'a\\b', 'x'.repeat(256), 'é', 'a\tb'])
      expect(refusal({ REGISTRY_SERVICE: s })).toBe(
        'Invalid configuration: REGISTRY_SERVICE must be printable ASCII without spaces, quotes or backslashes',
      );
  });

  it('PASSWORD_HASH_CONCURRENCY stays below UV_THREADPOOL_SIZE', () => {
    expect(loadConfig({ UV_THREADPOOL_SIZE: '8', PASSWORD_HASH_CONCURRENCY: '7' })).toMatchObject({
      threadPoolSize: 8,
      auth: { passwordHashConcurrency: 7 },
    });
    for (const [pool, hash] of [
      ['8', '8'],
      ['8', '9'],
      [undefined, '4'],
    ])
      expect(
        refusal({
          ...(pool ? { UV_THREADPOOL_SIZE: pool } : {}),
          PASSWORD_HASH_CONCURRENCY: hash!,
        }),
      ).toBe(
        `Invalid configuration: PASSWORD_HASH_CONCURRENCY must be smaller than UV_THREADPOOL_SIZE (${pool ?? 4}), so that password hashing never takes every thread from file I/O`,
      );
    expect(refusal({ UV_THREADPOOL_SIZE: '1' })).toBe(
      'Invalid configuration: UV_THREADPOOL_SIZE must be between 2 and 1024, got 1',
    );
    expect(refusal({ UV_THREADPOOL_SIZE: '1025' })).toBe(
      'Invalid configuration: UV_THREADPOOL_SIZE must be between 2 and 1024, got 1025',
    );
    expect(refusal({ PASSWORD_HASH_CONCURRENCY: '0' })).toBe(
      'Invalid configuration: PASSWORD_HASH_CONCURRENCY must be between 1 and 64, got 0',
    );
    expect(
      loadConfig({ UV_THREADPOOL_SIZE: '1024', PASSWORD_HASH_CONCURRENCY: '64' }).auth
        .passwordHashConcurrency,
    ).toBe(64);
    expect(loadConfig({ UV_THREADPOOL_SIZE: '2', PASSWORD_HASH_CONCURRENCY: '1' })).toMatchObject({
      threadPoolSize: 2,
      auth: { passwordHashConcurrency: 1 },
    });
    expect(refusal({ UV_THREADPOOL_SIZE: '1024', PASSWORD_HASH_CONCURRENCY: '65' })).toBe(
      'Invalid configuration: PASSWORD_HASH_CONCURRENCY must be between 1 and 64, got 65',
    );
  });

  it('DEFAULT_REPOSITORY_VISIBILITY', () => {
    expect(
      loadConfig({ DEFAULT_REPOSITORY_VISIBILITY: 'public' }).defaultRepositoryVisibility,
    ).toBe('public');
    expect(
      loadConfig({ DEFAULT_REPOSITORY_VISIBILITY: 'private' }).defaultRepositoryVisibility,
    ).toBe('private');
    expect(refusal({ DEFAULT_REPOSITORY_VISIBILITY: 'Public' })).toBe(
      'Invalid configuration: DEFAULT_REPOSITORY_VISIBILITY must be "private" or "public", got "Public"',
    );
  });

  it('REGISTRY_TOKEN_TTL_SECONDS below 60 is refused with the reason', () => {
    expect(refusal({ REGISTRY_TOKEN_TTL_SECONDS: '0' })).toBe(
      'Invalid configuration: REGISTRY_TOKEN_TTL_SECONDS must be at least 60, got 0: docker uses a ' +
        'registry token for at least 60 seconds whatever its lifetime, so shorter tokens expire under it mid-push',
    );
  });

  it('DATA_DIR is resolved', () => {
    expect(loadConfig({ DATA_DIR: 'var/aerugo' }).dataDir).toBe(resolve('var/aerugo'));
    expect(loadConfig({ DATA_DIR: '/srv/aerugo' }).dataDir).toBe('/srv/aerugo');
  });

  it('OIDC_*: all three or none, https (http only on loopback), defaults; LOCAL_PASSWORDS', () => {
    const base = {
      OIDC_ISSUER: 'https://login.example.com/realms/acme/',
      OIDC_CLIENT_ID: 'aerugo',
      OIDC_CLIENT_SECRET: 's3cret',
    };
    expect(loadConfig(base).oidc).toEqual({
      issuer: 'https://login.example.com/realms/acme',
      clientId: 'aerugo',
      clientSecret: 's3cret',
      scopes: 'openid profile email groups',
      usernameClaim: 'preferred_username',
      groupsClaim: 'groups',
      adminGroup: undefined,
      syncOrgs: false,
    });
    expect(loadConfig({}).oidc).toBeUndefined();
    expect(refusal({ OIDC_ISSUER: base.OIDC_ISSUER, OIDC_CLIENT_ID: 'aerugo' })).toBe(
      'Invalid configuration: OIDC_CLIENT_SECRET is required when OIDC_ISSUER is set',
    );
    expect(refusal({ ...base, OIDC_ISSUER: 'http://login.example.com' })).toBe(
      'Invalid configuration: OIDC_ISSUER must use https: (http: only on a loopback address)',
    );
    expect(loadConfig({ ...base, OIDC_ISSUER: 'http://127.0.0.1:9000' }).oidc?.issuer).toBe(
      'http://127.0.0.1:9000',
    );
    expect(refusal({ ...base, OIDC_SYNC_ORGS: 'maybe' })).toContain('OIDC_SYNC_ORGS');
    expect(loadConfig({ LOCAL_PASSWORDS: 'admins' }).auth.localPasswords).toBe('admins');
    expect(refusal({ LOCAL_PASSWORDS: 'none' })).toBe(
      'Invalid configuration: LOCAL_PASSWORDS must be "all" or "admins", got "none"',
    );
  });

  it('ConfigError names the variable', () => {
    const e = new ConfigError('X_Y', 'is wrong');
    expect(e.variable).toBe('X_Y');
    expect(e.message).toBe('Invalid configuration: X_Y is wrong');
  });
});
