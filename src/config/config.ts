import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { MAX_NAMESPACE_LENGTH, NAME_COMPONENT } from '../common/name-grammar.js';

/** Raised when an environment variable is missing or malformed; start-up stops with its message. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

export type StorageDriverName = 'filesystem' | 's3';

export interface S3Config {
  endpoint?: string;
  publicEndpoint?: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
  usePathStyle: boolean;
  redirect: boolean;
  presignExpirySeconds: number;
}

/**
 * Which proxies in front of a node are trusted to say who the client is (X-Forwarded-For):
 * none (false), the nearest `n` hops, or the proxies at these addresses, subnets or named ranges
 * (`loopback`, `linklocal`, `uniquelocal`). Given to Express as its `trust proxy` setting.
 */
export type TrustProxy = false | number | string[];

/** PEM files of the certificate (its chain may follow it) and private key Aerugo serves HTTPS with. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** The whole typed configuration of one Aerugo node, read once from the environment. */
/** OpenID Connect sign-in (OIDC_*), present when OIDC_ISSUER, _CLIENT_ID and _CLIENT_SECRET are set. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  usernameClaim: string;
  groupsClaim: string;
  adminGroup?: string;
  syncOrgs: boolean;
}

const OIDC_REQUIRED = ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const;

function oidcConfig(env: Env): OidcConfig | undefined {
  const set = OIDC_REQUIRED.filter((n) => str(env, n) !== undefined);
  if (set.length === 0) return undefined;
  const missing = OIDC_REQUIRED.find((n) => str(env, n) === undefined);
  if (missing) throw new ConfigError(missing, `is required when ${set[0]} is set`);
  const issuer = url(env, 'OIDC_ISSUER', ['http:', 'https:'])!.replace(/\/+$/, '');
  const host = new URL(issuer).hostname;
  if (new URL(issuer).protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(host))
    throw new ConfigError('OIDC_ISSUER', 'must use https: (http: only on a loopback address)');
  return {
    issuer,
    clientId: str(env, 'OIDC_CLIENT_ID')!,
    clientSecret: str(env, 'OIDC_CLIENT_SECRET')!,
    scopes: str(env, 'OIDC_SCOPES') ?? 'openid profile email groups',
    usernameClaim: str(env, 'OIDC_USERNAME_CLAIM') ?? 'preferred_username',
    groupsClaim: str(env, 'OIDC_GROUPS_CLAIM') ?? 'groups',
    adminGroup: str(env, 'OIDC_ADMIN_GROUP'),
    syncOrgs: bool(env, 'OIDC_SYNC_ORGS', false),
  };
}

function localPasswords(env: Env): 'all' | 'admins' {
  const raw = str(env, 'LOCAL_PASSWORDS') ?? 'all';
  if (raw === 'all' || raw === 'admins') return raw;
  throw new ConfigError('LOCAL_PASSWORDS', `must be "all" or "admins", got "${raw}"`);
}

export interface AppConfig {
  listenHost: string;
  listenPort: number;
  /** External base URL (no trailing slash) used in absolute links such as the token realm. */
  publicUrl?: string;
  /** Proxies whose X-Forwarded-For names the client (per-address sign-in limits use it). */
  trustProxy: TrustProxy;
  /** Serve HTTPS with these PEM files (read and checked by `src/config/tls.ts`); else plain HTTP. */
  tls?: TlsFiles;
  dataDir: string;
  /** OpenID Connect sign-in, when configured. */
  oidc?: OidcConfig;
  /** External PostgreSQL; when undefined an embedded PostgreSQL is started under dataDir. */
  databaseUrl?: string;
  embeddedPostgresPort?: number;
  /** Worker processes of this node (src/cluster/cluster.ts); 1: the process serves by itself. */
  workers: number;
  databasePoolSize: number;
  storageDriver: StorageDriverName;
  /**
   * The filesystem driver fsyncs what it stores (chunks, and the name a published blob gets)
   * before the database records it; false skips that, as Distribution does (STORAGE_FSYNC).
   */
  storageFsync: boolean;
  s3?: S3Config;
  redisUrl?: string;
  redisTtlSeconds: number;
  uploadTtlSeconds: number;
  uploadSweepIntervalSeconds: number;
  maxManifestBytes: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** `json`: one JSON object per line (default); `pretty`: coloured lines for a terminal. */
  logFormat: 'json' | 'pretty';
  metrics: MetricsConfig;
  /** How often pull counts kept in memory are written to PostgreSQL. */
  pullStatsFlushSeconds: number;
  audit: AuditConfig;
  auth: AuthConfig;
  webhooks: WebhooksConfig;
  /** Visibility of repositories created by a push or without an explicit choice. */
  defaultRepositoryVisibility: 'public' | 'private';
  http: HttpLimitsConfig;
  uploads: UploadLimitsConfig;
  gc: GcConfig;
  /** Quota in bytes given to each new user or organization namespace; undefined: none. */
  defaultNamespaceQuotaBytes?: number;
  /**
   * Threads of libuv's pool, which libuv reads from UV_THREADPOOL_SIZE when the process starts (an
   * ES module cannot change it: loading modules already starts the pool). `npm start` and the
   * Docker image set 8.
   */
  threadPoolSize: number;
}

/** The audit log (src/audit). */
export interface AuditConfig {
  /** Record every manifest GET as a `manifest.pulled` event (off by default: pulls are counted). */
  pulls: boolean;
  /** Audit rows older than this many days are pruned; 0 keeps them forever. */
  retentionDays: number;
}

/** Who may read `GET /metrics` and where (src/observability/metrics-endpoint.ts). */
export interface MetricsConfig {
  /** Bearer token a scrape must send; when set, /metrics is served on the public port too. */
  token?: string;
  /** A separate plain-HTTP listener for /metrics only (e.g. 127.0.0.1:9464 or a pod port). */
  address?: { host: string; port: number };
  /** Time the blob storage driver's calls (a histogram per operation). */
  storageTiming: boolean;
}

/** Webhook delivery (src/webhooks/). */
export interface WebhooksConfig {
  /** Allow targets in loopback, private, link-local and similar ranges (tests, internal hooks). */
  allowPrivateTargets: boolean;
  /** Time a target has to answer one delivery attempt. */
  timeoutSeconds: number;
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number;
  /** Delay before the first retry; each further retry waits twice as long (at most an hour). */
  retryBaseSeconds: number;
}

/** How long a node waits for slow or idle clients. */
export interface HttpLimitsConfig {
  /** Time to receive a request's headers. */
  headersTimeoutSeconds: number;
  /** A connection with no bytes moving either way for this long is closed (stalled bodies too). */
  idleTimeoutSeconds: number;
  /** Time to receive a whole request body, except blob upload bodies (which may be huge). */
  requestTimeoutSeconds: number;
}

/** Bounds on blob uploads. */
export interface UploadLimitsConfig {
  /** Lease a request holds on an upload session while it writes (renewed while bytes flow). */
  leaseSeconds: number;
  /** Upload bodies streaming into one node at once, and per user. */
  maxConcurrent: number;
  maxConcurrentPerUser: number;
  /** Open upload sessions per user and per repository. */
  maxSessionsPerUser: number;
  maxSessionsPerRepository: number;
}

/** Online garbage collection (src/gc/gc.service.ts). */
export interface GcConfig {
  /** Each node tries a run this often (one node at a time runs it). */
  intervalSeconds: number;
  /**
   * How long an unreferenced blob stays queued, and a link no manifest references stays unused,
   * before it is deleted; also what a push has between uploading a blob and putting its manifest.
   * At least S3_PRESIGN_EXPIRY_SECONDS while S3 redirects are on (effectiveGcGrace).
   */
  graceSeconds: number;
}

/**
 * The grace period in force: GC_GRACE_SECONDS, but never shorter than a presigned URL lives while
 * S3 redirects are on (a client handed a URL just before its blob became unreferenced may still
 * fetch the bytes until the URL expires).
 */
export function effectiveGcGrace(graceSeconds: number, s3: S3Config | undefined): number {
  return s3?.redirect ? Math.max(graceSeconds, s3.presignExpirySeconds) : graceSeconds;
}

/** libuv's thread pool size when UV_THREADPOOL_SIZE is unset. */
const LIBUV_DEFAULT_THREADPOOL_SIZE = 4;

export interface AuthConfig {
  /** HS256 signing key; when undefined one is generated once and kept in the database. */
  jwtSecret?: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  registryTokenTtlSeconds: number;
  /** The `service` of the Docker token flow (audience of registry tokens). */
  registryService: string;
  registrationEnabled: boolean;
  /** LOCAL_PASSWORDS: `admins` refuses password sign-ins of non-administrators (use with OIDC). */
  localPasswords: 'all' | 'admins';
  /** System administrator created at first start when it does not exist yet. */
  adminUsername?: string;
  adminPassword?: string;
  /**
   * Failed sign-in attempts allowed per account from one client address, and per address across
   * accounts, within the window (see attempt-limiter.ts).
   */
  rateLimitWindowSeconds: number;
  rateLimitPerAccount: number;
  rateLimitPerAddress: number;
  /** First delay between failed sign-ins of one account from one address (doubles; 0: none). */
  failureDelaySeconds: number;
  /** Self-registrations allowed per client address within their window. */
  registrationLimitWindowSeconds: number;
  registrationLimitPerAddress: number;
  /** argon2 operations (hashing and verification) running at once on a node. */
  passwordHashConcurrency: number;
  /** Password verifications under way (or waiting) at once for one client address. */
  passwordChecksPerAddress: number;
  /** How long a node remembers a verified user name and password (0: never). */
  credentialCacheSeconds: number;
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** WORKERS: a number of processes, or `auto` for one per CPU the process may use. */
function workers(env: Env): number {
  const raw = str(env, 'WORKERS');
  if (raw?.toLowerCase() === 'auto') return Math.min(availableParallelism(), 64);
  if (raw !== undefined && !/^\d+$/.test(raw))
    throw new ConfigError('WORKERS', `must be a number of processes or "auto", got "${raw}"`);
  return int(env, 'WORKERS', 1, 1, 64);
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use one of ${protocols.join(', ')}`);
  }
  return raw;
}

function required(env: Env, name: string, why: string): string {
  const v = str(env, name);
  if (v === undefined) throw new ConfigError(name, `is required ${why}`);
  return v;
}

const NAMED_PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (NAMED_PROXY_RANGES.includes(entry)) return true;
  const slash = entry.indexOf('/');
  const ip = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(ip);
  if (!family) return false;
  if (slash < 0) return true;
  const bits = entry.slice(slash + 1);
  if (/^\d{1,3}$/.test(bits)) return Number(bits) <= (family === 4 ? 32 : 128);
  // IPv4 netmask form, e.g. 10.0.0.0/255.0.0.0
  return family === 4 && isIP(bits) === 4;
}

function trustProxy(env: Env): TrustProxy {
  const name = 'TRUST_PROXY';
  const raw = str(env, name);
  if (raw === undefined || /^(false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) {
    throw new ConfigError(
      name,
      'must be the number of proxies in front of the node or their addresses, not "true" ' +
        '(trusting every hop would let clients choose their own address)',
    );
  }
  if (/^\d+$/.test(raw)) {
    const hops = int(env, name, 0, 0, 100);
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((e) => e.trim());
  const bad = entries.find((e) => !isProxyAddress(e));
  if (bad !== undefined) {
    throw new ConfigError(
      name,
      `must be false, a number of proxies, or a comma-separated list of IP addresses, subnets ` +
        `or loopback/linklocal/uniquelocal; "${bad}" is none of these`,
    );
  }
  return entries;
}

function tlsFiles(env: Env): TlsFiles | undefined {
  const certFile = str(env, 'TLS_CERT_FILE');
  const keyFile = str(env, 'TLS_KEY_FILE');
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (keyFile === undefined)
    throw new ConfigError('TLS_KEY_FILE', 'is required when TLS_CERT_FILE is set');
  if (certFile === undefined)
    throw new ConfigError('TLS_CERT_FILE', 'is required when TLS_KEY_FILE is set');
  return { certFile: resolve(certFile), keyFile: resolve(keyFile) };
}

/**
 * docker caches a registry token for max(expires_in, 60) seconds, so with a shorter lifetime it
 * keeps sending a token Aerugo already refuses (a long push then fails half-way).
 */
const MIN_REGISTRY_TOKEN_TTL_SECONDS = 60;

function registryTokenTtl(env: Env): number {
  const name = 'REGISTRY_TOKEN_TTL_SECONDS';
  const raw = str(env, name);
  if (raw !== undefined && /^\d+$/.test(raw) && Number(raw) < MIN_REGISTRY_TOKEN_TTL_SECONDS) {
    throw new ConfigError(
      name,
      `must be at least ${MIN_REGISTRY_TOKEN_TTL_SECONDS}, got ${raw}: docker uses a registry token ` +
        `for at least ${MIN_REGISTRY_TOKEN_TTL_SECONDS} seconds whatever its lifetime, so shorter tokens ` +
        'expire under it mid-push',
    );
  }
  return int(env, name, 300, MIN_REGISTRY_TOKEN_TTL_SECONDS, 24 * 3600);
}

export function parseListenAddress(
  raw: string,
  variable = 'LISTEN_ADDRESS',
): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]*)):(\d{1,5})$/.exec(raw);
  if (!m) throw new ConfigError(variable, `must be host:port, got "${raw}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(variable, `has an invalid port ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const { host, port } = parseListenAddress(str(env, 'LISTEN_ADDRESS') ?? '0.0.0.0:8080');
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '');
  const storageRaw = str(env, 'STORAGE_DRIVER');
  const s3Bucket = str(env, 'S3_BUCKET');
  let storageDriver: StorageDriverName;
  if (storageRaw === undefined) storageDriver = s3Bucket ? 's3' : 'filesystem';
  else if (storageRaw === 'filesystem' || storageRaw === 's3') storageDriver = storageRaw;
  else throw new ConfigError('STORAGE_DRIVER', `must be "filesystem" or "s3", got "${storageRaw}"`);

  let s3: S3Config | undefined;
  if (storageDriver === 's3') {
    const why = 'when the S3 storage driver is selected';
    s3 = {
      endpoint: url(env, 'S3_ENDPOINT', ['http:', 'https:']),
      publicEndpoint: url(env, 'S3_PUBLIC_ENDPOINT', ['http:', 'https:']),
      bucket: required(env, 'S3_BUCKET', why),
      accessKey: required(env, 'S3_ACCESS_KEY', why),
      secretKey: required(env, 'S3_SECRET_KEY', why),
      region: str(env, 'S3_REGION') ?? 'us-east-1',
      usePathStyle: bool(env, 'S3_USE_PATH_STYLE', true),
      redirect: bool(env, 'S3_REDIRECT', true),
      presignExpirySeconds: int(env, 'S3_PRESIGN_EXPIRY_SECONDS', 1200, 1, 7 * 24 * 3600),
    };
  }

  const levelRaw = str(env, 'LOG_LEVEL')?.toLowerCase() ?? 'log';
  // pino's names are accepted too: info is log, trace is verbose.
  const logLevel = (
    levelRaw === 'info' ? 'log' : levelRaw === 'trace' ? 'verbose' : levelRaw
  ) as AppConfig['logLevel'];
  if (!['error', 'warn', 'log', 'debug', 'verbose'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', 'must be one of error, warn, log (info), debug, verbose');
  }
  const logFormat = str(env, 'LOG_FORMAT')?.toLowerCase() ?? 'json';
  if (logFormat !== 'json' && logFormat !== 'pretty') {
    throw new ConfigError('LOG_FORMAT', `must be "json" or "pretty", got "${logFormat}"`);
  }
  const metricsToken = str(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'must be 16 to 256 printable ASCII characters without spaces',
    );
  }
  const metricsAddressRaw = str(env, 'METRICS_ADDRESS');
  const metricsAddress =
    metricsAddressRaw === undefined
      ? undefined
      : parseListenAddress(metricsAddressRaw, 'METRICS_ADDRESS');

  const jwtSecret = str(env, 'JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 characters long');
  }
  const adminUsername = str(env, 'ADMIN_USERNAME')?.toLowerCase();
  const adminPassword = str(env, 'ADMIN_PASSWORD');
  if (adminUsername !== undefined && adminPassword === undefined) {
    throw new ConfigError('ADMIN_PASSWORD', 'is required when ADMIN_USERNAME is set');
  }
  if (adminPassword !== undefined && adminUsername === undefined) {
    throw new ConfigError('ADMIN_USERNAME', 'is required when ADMIN_PASSWORD is set');
  }
  if (
    adminUsername !== undefined &&
    (adminUsername.length > MAX_NAMESPACE_LENGTH || !NAME_COMPONENT.test(adminUsername))
  ) {
    throw new ConfigError(
      'ADMIN_USERNAME',
      `must be a valid user name (letters, digits, separators), got "${adminUsername}"`,
    );
  }
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 256)) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be between 8 and 256 characters long');
  }
  const registryService = str(env, 'REGISTRY_SERVICE') ?? 'aerugo';
  if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,255}$/.test(registryService)) {
    throw new ConfigError(
      'REGISTRY_SERVICE',
      'must be printable ASCII without spaces, quotes or backslashes',
    );
  }
  const threadPoolSize = int(env, 'UV_THREADPOOL_SIZE', LIBUV_DEFAULT_THREADPOOL_SIZE, 2, 1024);
  const passwordHashConcurrency = int(env, 'PASSWORD_HASH_CONCURRENCY', 2, 1, 64);
  if (passwordHashConcurrency >= threadPoolSize) {
    throw new ConfigError(
      'PASSWORD_HASH_CONCURRENCY',
      `must be smaller than UV_THREADPOOL_SIZE (${threadPoolSize}), so that password hashing never takes every thread from file I/O`,
    );
  }
  const visibility = str(env, 'DEFAULT_REPOSITORY_VISIBILITY') ?? 'private';
  if (visibility !== 'private' && visibility !== 'public') {
    throw new ConfigError(
      'DEFAULT_REPOSITORY_VISIBILITY',
      `must be "private" or "public", got "${visibility}"`,
    );
  }

  const gc: GcConfig = {
    intervalSeconds: int(env, 'GC_INTERVAL_SECONDS', 3600, 1, 7 * 24 * 3600),
    graceSeconds: effectiveGcGrace(int(env, 'GC_GRACE_SECONDS', 3600, 0, 30 * 24 * 3600), s3),
  };

  return {
    listenHost: host,
    listenPort: port,
    publicUrl,
    trustProxy: trustProxy(env),
    tls: tlsFiles(env),
    dataDir: resolve(str(env, 'DATA_DIR') ?? './data'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    embeddedPostgresPort: str(env, 'EMBEDDED_PG_PORT')
      ? int(env, 'EMBEDDED_PG_PORT', 0, 1, 65535)
      : undefined,
    workers: workers(env),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 20, 2, 500),
    storageDriver,
    storageFsync: bool(env, 'STORAGE_FSYNC', true),
    s3,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisTtlSeconds: int(env, 'REDIS_TTL_SECONDS', 300, 1, 30 * 24 * 3600),
    uploadTtlSeconds: int(env, 'UPLOAD_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600),
    uploadSweepIntervalSeconds: int(env, 'UPLOAD_SWEEP_INTERVAL_SECONDS', 600, 1, 24 * 3600),
    maxManifestBytes: int(env, 'MAX_MANIFEST_BYTES', 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    logLevel,
    logFormat,
    metrics: {
      token: metricsToken,
      address: metricsAddress,
      storageTiming: bool(env, 'METRICS_STORAGE_TIMING', true),
    },
    pullStatsFlushSeconds: int(env, 'PULL_STATS_FLUSH_SECONDS', 5, 1, 60),
    audit: {
      pulls: bool(env, 'AUDIT_PULLS', false),
      retentionDays: int(env, 'AUDIT_RETENTION_DAYS', 90, 0, 100 * 365),
    },
    oidc: oidcConfig(env),
    auth: {
      jwtSecret,
      accessTokenTtlSeconds: int(env, 'JWT_ACCESS_TTL_SECONDS', 900, 1, 24 * 3600),
      refreshTokenTtlSeconds: int(
        env,
        'JWT_REFRESH_TTL_SECONDS',
        30 * 24 * 3600,
        60,
        365 * 24 * 3600,
      ),
      registryTokenTtlSeconds: registryTokenTtl(env),
      registryService,
      registrationEnabled: bool(env, 'REGISTRATION_ENABLED', true),
      localPasswords: localPasswords(env),
      adminUsername,
      adminPassword,
      rateLimitWindowSeconds: int(env, 'AUTH_RATE_LIMIT_WINDOW_SECONDS', 300, 1, 24 * 3600),
      rateLimitPerAccount: int(env, 'AUTH_RATE_LIMIT_PER_ACCOUNT', 10, 1, 1000000),
      rateLimitPerAddress: int(env, 'AUTH_RATE_LIMIT_PER_ADDRESS', 50, 1, 1000000),
      failureDelaySeconds: int(env, 'AUTH_FAILURE_DELAY_SECONDS', 1, 0, 60),
      registrationLimitWindowSeconds: int(
        env,
        'REGISTRATION_RATE_LIMIT_WINDOW_SECONDS',
        3600,
        1,
        7 * 24 * 3600,
      ),
      registrationLimitPerAddress: int(env, 'REGISTRATION_RATE_LIMIT_PER_ADDRESS', 10, 1, 1000000),
      passwordHashConcurrency,
      passwordChecksPerAddress: int(env, 'AUTH_PASSWORD_CHECKS_PER_ADDRESS', 8, 1, 10000),
      credentialCacheSeconds: int(env, 'AUTH_CREDENTIAL_CACHE_SECONDS', 60, 0, 3600),
    },
    webhooks: {
      allowPrivateTargets: bool(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
      timeoutSeconds: int(env, 'WEBHOOK_TIMEOUT_SECONDS', 10, 1, 120),
      maxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1, 50),
      retryBaseSeconds: int(env, 'WEBHOOK_RETRY_BASE_SECONDS', 30, 1, 3600),
    },
    defaultRepositoryVisibility: visibility,
    http: {
      headersTimeoutSeconds: int(env, 'HTTP_HEADERS_TIMEOUT_SECONDS', 30, 1, 3600),
      idleTimeoutSeconds: int(env, 'HTTP_IDLE_TIMEOUT_SECONDS', 60, 1, 3600),
      requestTimeoutSeconds: int(env, 'HTTP_REQUEST_TIMEOUT_SECONDS', 120, 1, 24 * 3600),
    },
    uploads: {
      leaseSeconds: int(env, 'UPLOAD_LEASE_SECONDS', 60, 1, 3600),
      maxConcurrent: int(env, 'UPLOAD_MAX_CONCURRENT', 256, 1, 100000),
      maxConcurrentPerUser: int(env, 'UPLOAD_MAX_CONCURRENT_PER_USER', 64, 1, 100000),
      maxSessionsPerUser: int(env, 'UPLOAD_MAX_SESSIONS_PER_USER', 1000, 1, 10000000),
      maxSessionsPerRepository: int(env, 'UPLOAD_MAX_SESSIONS_PER_REPOSITORY', 1000, 1, 10000000),
    },
    gc,
    defaultNamespaceQuotaBytes: str(env, 'DEFAULT_NAMESPACE_QUOTA_BYTES')
      ? int(env, 'DEFAULT_NAMESPACE_QUOTA_BYTES', 0, 0, Number.MAX_SAFE_INTEGER)
      : undefined,
    threadPoolSize,
  };
}
