import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import type { AuthSessionEntity, SessionKind } from '../auth.entities.js';
import { PageMetaDto } from '../../common/page.dto.js';

export class SessionIdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a session id (a UUID)' })
  id: string;
}

export class SessionDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({
    enum: ['api', 'registry'],
    description:
      '`api`: a sign-in to the management API (`POST /auth/login`); `registry`: a `docker login` identity token',
  })
  kind: SessionKind;

  @ApiProperty({ description: 'Sign-in time' })
  createdAt: Date;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'Last refresh (api) or token exchange (registry); null when not used since sign-in',
  })
  lastUsedAt: Date | null;

  @ApiProperty({ description: 'When the session ends unless it is refreshed' })
  expiresAt: Date;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'User-Agent at sign-in or at the last refresh, when the client sent one',
  })
  userAgent: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Client address at sign-in or at the last refresh (see TRUST_PROXY)',
  })
  clientAddress: string | null;

  @ApiProperty({ description: 'The session of the access token making this request' })
  current: boolean;

  static of(s: AuthSessionEntity, currentSessionId: string | undefined): SessionDto {
    return {
      id: s.id,
      kind: s.kind,
      createdAt: s.createdAt,
      lastUsedAt: s.lastUsedAt,
      expiresAt: s.expiresAt,
      userAgent: s.userAgent,
      clientAddress: s.clientAddress,
      current: s.id === currentSessionId,
    };
  }
}

export class SessionPageDto extends PageMetaDto {
  @ApiProperty({ type: [SessionDto], description: 'Most recently used first' })
  items: SessionDto[];
}
