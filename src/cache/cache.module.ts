import { Global, Module } from '@nestjs/common';
import { CacheKeys } from './cache-keys.js';
import { CacheService } from './cache.service.js';

@Global()
@Module({ providers: [CacheService, CacheKeys], exports: [CacheService, CacheKeys] })
export class CacheModule {}
