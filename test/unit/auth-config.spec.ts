import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('identity configuration', () => {
  it('has safe defaults: registration on, private repositories, no admin, no fixed secret', () => {
    const c = loadConfig({});
    expect(c.auth).toEqual({
      jwtSecret: undefined,
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 24 * 3600,
      registryTokenTtlSeconds: 300,
      registryService: 'aerugo',
      registrationEnabled: true,
      adminUsername: undefined,
      adminPassword: undefined,
      rateLimitWindowSeconds: 300,
      rateLimitPerAccount: 10,
      rateLimitPerAddress: 50,
      failureDelaySeconds: 1,
      localPasswords: 'all',
      registrationLimitWindowSeconds: 3600,
      registrationLimitPerAddress: 10,
      passwordHashConcurrency: 2,
      passwordChecksPerAddress: 8,
      credentialCacheSeconds: 60,
    });
    expect(c.defaultRepositoryVisibility).toBe('private');
    expect(c.threadPoolSize).toBe(4);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      JWT_SECRET: 'x'.repeat(32),
      JWT_ACCESS_TTL_SECONDS: '60',
      JWT_REFRESH_TTL_SECONDS: '3600',
      REGISTRY_TOKEN_TTL_SECONDS: '60',
      REGISTRY_SERVICE: 'registry.example.com',
      REGISTRATION_ENABLED: 'false',
      ADMIN_USERNAME: 'Root',
      ADMIN_PASSWORD: 'long-enough',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '60',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '5',
      AUTH_RATE_LIMIT_PER_ADDRESS: '20',
      REGISTRATION_RATE_LIMIT_WINDOW_SECONDS: '600',
      REGISTRATION_RATE_LIMIT_PER_ADDRESS: '3',
      PASSWORD_HASH_CONCURRENCY: '4',
      AUTH_PASSWORD_CHECKS_PER_ADDRESS: '2',
      AUTH_CREDENTIAL_CACHE_SECONDS: '0',
      UV_THREADPOOL_SIZE: '16',
      DEFAULT_REPOSITORY_VISIBILITY: 'public',
    });
    expect(c.auth).toMatchObject({
      jwtSecret: 'x'.repeat(32),
      accessTokenTtlSeconds: 60,
      refreshTokenTtlSeconds: 3600,
      registryTokenTtlSeconds: 60,
      registryService: 'registry.example.com',
      registrationEnabled: false,
      adminUsername: 'root',
      adminPassword: 'long-enough',
      rateLimitWindowSeconds: 60,
      rateLimitPerAccount: 5,
      rateLimitPerAddress: 20,
      registrationLimitWindowSeconds: 600,
      registrationLimitPerAddress: 3,
      passwordHashConcurrency: 4,
      passwordChecksPerAddress: 2,
      credentialCacheSeconds: 0,
    });
    expect(c.defaultRepositoryVisibility).toBe('public');
    expect(c.threadPoolSize).toBe(16);
  });

  it.each([
    [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    [{ JWT_ACCESS_TTL_SECONDS: '0' }, 'JWT_ACCESS_TTL_SECONDS'],
    [{ JWT_REFRESH_TTL_SECONDS: 'soon' }, 'JWT_REFRESH_TTL_SECONDS'],
    [{ REGISTRY_TOKEN_TTL_SECONDS: '-1' }, 'REGISTRY_TOKEN_TTL_SECONDS'],
    [{ REGISTRY_TOKEN_TTL_SECONDS: '59' }, 'REGISTRY_TOKEN_TTL_SECONDS'],
    [{ REGISTRY_SERVICE: 'has "quotes"' }, 'REGISTRY_SERVICE'],
    [{ REGISTRATION_ENABLED: 'maybe' }, 'REGISTRATION_ENABLED'],
    [{ ADMIN_USERNAME: 'root' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_PASSWORD: 'long-enough' }, 'ADMIN_USERNAME'],
    [{ ADMIN_USERNAME: 'not valid', ADMIN_PASSWORD: 'long-enough' }, 'ADMIN_USERNAME'],
    [{ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ AUTH_RATE_LIMIT_PER_ACCOUNT: '0' }, 'AUTH_RATE_LIMIT_PER_ACCOUNT'],
    [{ AUTH_RATE_LIMIT_PER_ADDRESS: 'many' }, 'AUTH_RATE_LIMIT_PER_ADDRESS'],
    [{ AUTH_RATE_LIMIT_WINDOW_SECONDS: '0' }, 'AUTH_RATE_LIMIT_WINDOW_SECONDS'],
    [{ DEFAULT_REPOSITORY_VISIBILITY: 'internal' }, 'DEFAULT_REPOSITORY_VISIBILITY'],
    [{ REGISTRATION_RATE_LIMIT_PER_ADDRESS: '0' }, 'REGISTRATION_RATE_LIMIT_PER_ADDRESS'],
    [{ REGISTRATION_RATE_LIMIT_WINDOW_SECONDS: 'hour' }, 'REGISTRATION_RATE_LIMIT_WINDOW_SECONDS'],
    [{ PASSWORD_HASH_CONCURRENCY: '0' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ PASSWORD_HASH_CONCURRENCY: '8' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ PASSWORD_HASH_CONCURRENCY: '4', UV_THREADPOOL_SIZE: '4' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ UV_THREADPOOL_SIZE: '1' }, 'UV_THREADPOOL_SIZE'],
    [{ AUTH_PASSWORD_CHECKS_PER_ADDRESS: '0' }, 'AUTH_PASSWORD_CHECKS_PER_ADDRESS'],
    [{ AUTH_CREDENTIAL_CACHE_SECONDS: '-1' }, 'AUTH_CREDENTIAL_CACHE_SECONDS'],
  ])('refuses %p naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (e) {
      expect((e as ConfigError).variable).toBe(variable);
    }
  });
});
