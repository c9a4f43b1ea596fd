import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, requirePrincipal } from '../auth/decorators.js';
import type { UserPrincipal } from '../auth/principal.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { AuditService } from './audit.service.js';
import {
  AUDIT_DEFAULT_LIMIT,
  AuditEntryDto,
  AuditPageDto,
  AuditQueryDto,
} from './dto/audit.dto.js';

/** The audit log, as far as the caller may see it. */
@ApiTags('audit')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'Audit log entries, newest first (cursor pagination)',
    description:
      'A system administrator sees every entry; other users see what they did, what happened to ' +
      'their own namespace, and what happened to the organizations they own or administer.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  async list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() q: AuditQueryDto,
  ): Promise<AuditPageDto> {
    const caller = requirePrincipal(p);
    const since = q.since !== undefined ? new Date(q.since) : undefined;
    const until = q.until !== undefined ? new Date(q.until) : undefined;
    for (const [name, d] of [
      ['since', since],
      ['until', until],
    ] as const)
      if (d && Number.isNaN(d.getTime())) throw new BadRequestException(`${name} is not a date`);
    const page = await this.audit.list(
      { userId: caller.userId, username: caller.username, isAdmin: caller.isAdmin },
      {
        namespace: q.namespace,
        repository: q.repository,
        actor: q.actor,
        action: q.action,
        since,
        until,
        cursor: q.cursor,
        limit: q.limit ?? AUDIT_DEFAULT_LIMIT,
      },
    );
    return { items: page.items.map((e) => AuditEntryDto.of(e)), nextCursor: page.nextCursor };
  }
}
