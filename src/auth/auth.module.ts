import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { CacheKeys } from '../cache/cache-keys.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { OrgsModule } from '../orgs/orgs.module.js';
import { ReposModule } from '../repos/repos.module.js';
import { RobotsModule } from '../robots/robots.module.js';
import { UsersModule } from '../users/users.module.js';
import { AdminBootstrapService } from './admin-bootstrap.service.js';
import { ApiAuthGuard } from './api-auth.guard.js';
import { ATTEMPT_LIMITER, REGISTRATION_LIMITER } from './attempt-limiter.js';
import { AuthController } from './auth.controller.js';
import { AUTH_ENTITIES } from './auth.entities.js';
import { AuthService } from './auth.service.js';
import { CredentialsService } from './credentials.service.js';
import { JwtKeysService } from './jwt-keys.service.js';
import { OidcController } from './oidc/oidc.controller.js';
import { OidcService } from './oidc/oidc.service.js';
import { PasswordController } from './password.controller.js';
import { nodeAttemptLimiter } from './node-limiters.js';
import { RedisAttemptLimiter } from './redis-attempt-limiter.js';
import { TokenRegistryAuthorizer } from './registry-authorizer.service.js';
import { RegistryTokensService } from './registry-tokens.service.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';
import { ApiKeyStrategy } from './strategies/api-key.strategy.js';
import { BasicStrategy } from './strategies/basic.strategy.js';
import { JwtStrategy } from './strategies/jwt.strategy.js';
import { TokenController } from './token.controller.js';
import { TokensService } from './tokens.service.js';

/**
 * Authentication: sessions and JWTs, the passport strategies (JWT, Basic, API key) behind the
 * global ApiAuthGuard, the Docker token endpoint, and the registry authorizer.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature(AUTH_ENTITIES),
    PassportModule,
    JwtModule.register({}),
    UsersModule,
    ApiKeysModule,
    ReposModule,
    RobotsModule,
    OrgsModule,
  ],
  controllers: [
    AuthController,
    SessionsController,
    TokenController,
    PasswordController,
    OidcController,
  ],
  providers: [
    JwtKeysService,
    TokensService,
    SessionsService,
    CredentialsService,
    AuthService,
    OidcService,
    RegistryTokensService,
    TokenRegistryAuthorizer,
    AdminBootstrapService,
    JwtStrategy,
    BasicStrategy,
    ApiKeyStrategy,
    {
      provide: ATTEMPT_LIMITER,
      inject: [APP_CONFIG, CacheKeys],
      // Shared by every node through Redis when there is one; else counted per node.
      useFactory: (config: AppConfig, cacheKeys: CacheKeys) => {
        const windowMs = config.auth.rateLimitWindowSeconds * 1000;
        return config.redisUrl
          ? new RedisAttemptLimiter(config.redisUrl, windowMs, cacheKeys)
          : nodeAttemptLimiter(config, 'attempts');
      },
    },
    {
      provide: REGISTRATION_LIMITER,
      inject: [APP_CONFIG, CacheKeys],
      useFactory: (config: AppConfig, cacheKeys: CacheKeys) => {
        const windowMs = config.auth.registrationLimitWindowSeconds * 1000;
        return config.redisUrl
          ? new RedisAttemptLimiter(config.redisUrl, windowMs, cacheKeys, 'registration limits')
          : nodeAttemptLimiter(config, 'registration');
      },
    },
    { provide: APP_GUARD, useClass: ApiAuthGuard },
  ],
  exports: [TokenRegistryAuthorizer],
})
export class AuthModule {}
