import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Repository } from 'typeorm';
import {
  displayPrefix,
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  sameHash,
} from './api-key-format.js';
import { ApiKeyEntity } from './api-key.entity.js';

export interface VerifiedApiKey {
  keyId: string;
  userId: string;
}

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger('ApiKeys');

  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /** Creates a key; the returned secret is shown once and only its SHA-256 is kept. */
  async create(
    userId: string,
    name: string,
    expiresAt?: Date,
  ): Promise<{ key: ApiKeyEntity; secret: string }> {
    if (expiresAt && expiresAt.getTime() <= Date.now())
      throw new BadRequestException('expiresAt must be in the future');
    const secret = generateApiKey();
    const key = await this.keys.save(
      this.keys.create({
        userId,
        name,
        prefix: displayPrefix(secret),
        keyHash: hashApiKey(secret),
        expiresAt: expiresAt ?? null,
        lastUsedAt: null,
        revokedAt: null,
      }),
    );
    this.logger.log(`API key ${key.id} created`);
    return { key, secret };
  }

  /** The user's keys that have not been revoked (expired ones included), newest first. */
  list(userId: string): Promise<ApiKeyEntity[]> {
    return this.keys.find({ where: { userId, revokedAt: IsNull() }, order: { createdAt: 'DESC' } });
  }

  /** Revokes one of the user's keys at once: requests and registry tokens using it stop working. */
  async revoke(userId: string, id: string): Promise<void> {
    const res = await this.keys.update(
      { id, userId, revokedAt: IsNull() },
      { revokedAt: () => 'now()' },
    );
    if (!res.affected) throw new NotFoundException('API key not found');
    this.logger.log(`API key ${id} revoked`);
  }

  /** The key's owner when the key is known, unexpired and not revoked; notes its use. */
  async verify(secret: string): Promise<VerifiedApiKey | null> {
    if (!looksLikeApiKey(secret)) return null;
    const hash = hashApiKey(secret);
    const key = await this.keys.findOne({ where: { keyHash: hash } });
    if (!key || !sameHash(key.keyHash, hash) || !this.usable(key)) return null;
    await this.db.query(
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '30 seconds')`,
      [key.id],
    );
    return { keyId: key.id, userId: key.userId };
  }

  private usable(key: ApiKeyEntity): boolean {
    return (
      key.revokedAt === null && (key.expiresAt === null || key.expiresAt.getTime() > Date.now())
    );
  }

  /** Whether a key is still usable (checked again for every registry token that names it). */
  async isActive(id: string, userId: string): Promise<boolean> {
    const key = await this.keys.findOne({ where: { id, userId } });
    return !!key && this.usable(key);
  }
}
