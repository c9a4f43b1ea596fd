import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDate,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import { KEY_ACTIONS, type KeyAction, MAX_KEY_REPOSITORIES } from '../../auth/scopes.js';
import type { ApiKeyEntity } from '../api-key.entity.js';

export class CreateApiKeyDto {
  @ApiProperty({ maxLength: 100, example: 'ci-pipeline' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name: string;

  @ApiPropertyOptional({
    description: 'When the key stops working (ISO 8601); never when absent',
    type: Date,
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;

  @ApiPropertyOptional({
    description:
      'What the key may do: registry actions, and `api` for the management API (all four when ' +
      'absent). `api` only goes with a key that limits no repositories or actions.',
    enum: KEY_ACTIONS,
    isArray: true,
    example: ['pull'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(KEY_ACTIONS.length)
  @IsIn(KEY_ACTIONS, { each: true })
  actions?: KeyAction[];

  @ApiPropertyOptional({
    description:
      'Repository names or patterns the key is limited to (`*` matches any characters, "/" ' +
      'included); every repository when absent',
    type: [String],
    maxItems: MAX_KEY_REPOSITORIES,
    example: ['acme/web/*'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_KEY_REPOSITORIES)
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  repositories?: string[];
}

export class ApiKeyIdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  id: string;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  name: string;

  @ApiProperty({ description: 'First characters of the key', example: 'ak_Xy12ab' })
  prefix: string;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty({ nullable: true, type: Date })
  expiresAt: Date | null;

  @ApiProperty({ nullable: true, type: Date })
  lastUsedAt: Date | null;

  @ApiProperty({ enum: KEY_ACTIONS, isArray: true, description: 'What the key may do' })
  actions: KeyAction[];

  @ApiProperty({
    type: [String],
    nullable: true,
    description: 'Repository names or patterns the key is limited to; null: every repository',
  })
  repositories: string[] | null;

  static of(k: ApiKeyEntity): ApiKeyDto {
    return {
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      createdAt: k.createdAt,
      expiresAt: k.expiresAt,
      lastUsedAt: k.lastUsedAt,
      actions: k.actions,
      repositories: k.repositories,
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    description: 'The key: shown only in this response',
    example: 'ak_0123456789abcdefghijABCDEFGHIJkl',
  })
  key: string;
}
