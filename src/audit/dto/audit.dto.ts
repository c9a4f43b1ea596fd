import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { MAX_REPOSITORY_NAME_LENGTH, REPOSITORY_PATH } from '../../common/name-grammar.js';
import type { AuditEntry } from '../audit.service.js';

export const AUDIT_MAX_LIMIT = 200;
export const AUDIT_DEFAULT_LIMIT = 50;

export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'Events on this namespace (user or organization)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  namespace?: string;

  @ApiPropertyOptional({ description: 'Events on this repository (full name, e.g. `acme/app`)' })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_REPOSITORY_NAME_LENGTH)
  @Matches(REPOSITORY_PATH, { message: 'repository must be a repository name' })
  repository?: string;

  @ApiPropertyOptional({ description: 'Events performed by this user (user name)' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  actor?: string;

  @ApiPropertyOptional({
    description:
      'An event name (`manifest.pushed`), or a prefix ending in `.` or `*` (`manifest.`, `manifest.*`)',
    example: 'manifest.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9._-]{0,63}\*?$/, { message: 'action must be an event name or prefix' })
  action?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events at or after this time' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO 8601 date or date-time' })
  since?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Events before this time' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'until must be an ISO 8601 date or date-time' })
  until?: string;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: AUDIT_MAX_LIMIT, default: AUDIT_DEFAULT_LIMIT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(AUDIT_MAX_LIMIT)
  limit?: number;
}

export class AuditActorDto {
  @ApiProperty({ enum: ['user', 'robot', 'anonymous', 'system'] })
  kind: string;

  @ApiProperty({ type: String, nullable: true, description: 'User (or robot) id' })
  id: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'User name, `namespace+robot`, or the part of the server that acted',
  })
  name: string | null;

  @ApiProperty({
    enum: ['anonymous', 'password', 'api-key', 'token', 'jwt', 'system'],
    description: 'How the actor proved who they are',
  })
  credential: string;

  @ApiProperty({ type: String, nullable: true, description: 'The API key used, if any' })
  apiKeyId: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Client address (per TRUST_PROXY)' })
  address: string | null;
}

export class AuditEntryDto {
  @ApiProperty({ description: 'Row id' })
  id: string;

  @ApiProperty({ format: 'date-time', description: 'When the change committed (its transaction)' })
  time: string;

  @ApiProperty({ example: 'manifest.pushed', description: 'The event name' })
  action: string;

  @ApiProperty({ type: AuditActorDto })
  actor: AuditActorDto;

  @ApiProperty({ description: 'The request id (`X-Request-Id`)' })
  requestId: string;

  @ApiProperty({ type: String, nullable: true })
  namespace: string | null;

  @ApiProperty({ type: String, nullable: true })
  repository: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'What the event acted on within them: digest, tag, user, key, session…',
  })
  target: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: "The rest of the event's payload (ids, tags, moved tags, sizes, …)",
  })
  details: Record<string, unknown>;

  static of(e: AuditEntry): AuditEntryDto {
    return {
      id: e.id,
      time: e.createdAt,
      action: e.action,
      actor: {
        kind: e.actorKind,
        id: e.actorId,
        name: e.actorName,
        credential: e.credential,
        apiKeyId: e.apiKeyId,
        address: e.clientAddress,
      },
      requestId: e.requestId,
      namespace: e.namespace,
      repository: e.repository,
      target: e.target,
      details: e.details,
    };
  }
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  items: AuditEntryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next (older) page; null on the last page',
  })
  nextCursor: string | null;
}
