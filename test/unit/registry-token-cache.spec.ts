import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey, randomBytes } from 'node:crypto';
import type { AppConfig } from '../../src/config/config.js';
import type { JwtKeysService } from '../../src/auth/jwt-keys.service.js';
import { TokensService } from '../../src/auth/tokens.service.js';

function service(secret = randomBytes(32)) {
  const key = createSecretKey(secret);
  const config = {
    auth: { registryService: 'aerugo', registryTokenTtlSeconds: 60, accessTokenTtlSeconds: 60 },
  } as unknown as AppConfig;
  return new TokensService(new JwtService(), { secret: () => key } as JwtKeysService, config);
}

const access = [{ type: 'repository', name: 'a/b', actions: ['pull'] }];

describe('verified registry tokens are remembered until they expire', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('answers the same frozen claims for the same token', async () => {
    const tokens = service();
    const { token } = await tokens.signRegistryToken({ userId: 'u1', username: 'u' }, access, {});
    const first = await tokens.verifyRegistryToken(token);
    const again = await tokens.verifyRegistryToken(token);
    expect(again).toBe(first);
    expect(Object.isFrozen(first.access[0].actions)).toBe(true);
    expect(first.sub).toBe('u1');
  });

  it('refuses a remembered token once it has expired', async () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-01-01T00:00:00Z'));
    const tokens = service();
    const { token } = await tokens.signRegistryToken({ userId: 'u1', username: 'u' }, access, {});
    await tokens.verifyRegistryToken(token);
    now.mockReturnValue(Date.parse('2026-01-01T00:00:59Z'));
    await expect(tokens.verifyRegistryToken(token)).resolves.toBeDefined();
    now.mockReturnValue(Date.parse('2026-01-01T00:01:00Z'));
    await expect(tokens.verifyRegistryToken(token)).rejects.toThrow();
  });

  it('never remembers a token it refused, nor one signed with another key', async () => {
    const tokens = service();
    const other = service();
    const { token } = await other.signRegistryToken(null, access, {});
    await expect(tokens.verifyRegistryToken(token)).rejects.toThrow();
    await expect(tokens.verifyRegistryToken(token)).rejects.toThrow();
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
    await expect(other.verifyRegistryToken(tampered)).rejects.toThrow();
  });
});
