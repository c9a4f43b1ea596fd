import { Controller, Delete, Get, HttpCode, NotFoundException, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Actor } from '../common/actor.js';
import { Authenticated, CurrentActor, CurrentPrincipal, requirePrincipal } from './decorators.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { pageOf, PageQueryDto } from '../common/page.dto.js';
import { SessionDto, SessionIdParamDto, SessionPageDto } from './dto/sessions.dto.js';
import type { UserPrincipal } from './principal.js';
import { SessionsService } from './sessions.service.js';

/** The caller's sign-in sessions: where they are signed in, and ending any of them. */
@ApiTags('auth')
@Authenticated()
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@Controller('auth/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({
    summary:
      "The caller's live sessions (management API sign-ins and docker logins); the current one is flagged",
  })
  @ApiOkResponse({ type: SessionPageDto })
  async list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: PageQueryDto,
  ): Promise<SessionPageDto> {
    const caller = requirePrincipal(p);
    const { page, perPage } = pageOf(query);
    const { items, total } = await this.sessions.listLive(caller.userId, page, perPage);
    return { items: items.map((s) => SessionDto.of(s, caller.sessionId)), total, page, perPage };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary:
      "End one of the caller's sessions: its refresh token and its access and registry tokens stop working at once",
  })
  @ApiNoContentResponse({ description: 'Ended' })
  @ApiNotFoundResponse({
    description: 'No live session with that id belongs to the caller',
    type: ErrorResponseDto,
  })
  async end(
    @CurrentActor() actor: Actor,
    @CurrentPrincipal() p: UserPrincipal | null,
    @Param() params: SessionIdParamDto,
  ): Promise<void> {
    const caller = requirePrincipal(p);
    if (!(await this.sessions.endOwn(caller.userId, params.id, 'revoked', actor)))
      throw new NotFoundException(`you have no live session "${params.id}"`);
  }
}
