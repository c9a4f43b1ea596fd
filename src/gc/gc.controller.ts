import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { requireSystemAdmin } from '../auth/admin.js';
import {
  Authenticated,
  CurrentActor,
  CurrentPrincipal,
  requirePrincipal,
} from '../auth/decorators.js';
import type { UserPrincipal } from '../auth/principal.js';
import type { Actor } from '../common/actor.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { GcRunDto, GcRunListDto, GcRunsQueryDto, StartGcDto } from './dto/gc.dto.js';
import { GcService } from './gc.service.js';

@ApiTags('admin')
@ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
@ApiForbiddenResponse({
  description: 'Caller is not a system administrator',
  type: ErrorResponseDto,
})
@Controller('admin/gc')
export class GcController {
  constructor(private readonly gc: GcService) {}

  @Post()
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary: 'Run garbage collection now (system administrators)',
    description:
      'Waits for a run another node may have under way, then runs and returns its report. ' +
      'With `dryRun` nothing is deleted and the report says what a run would delete now.',
  })
  @ApiOkResponse({ type: GcRunDto })
  async start(
    @CurrentPrincipal() p: UserPrincipal | null,
    @CurrentActor() actor: Actor,
    @Body() body: StartGcDto,
  ): Promise<GcRunDto> {
    requireSystemAdmin(requirePrincipal(p));
    return GcRunDto.of(await this.gc.run({ dryRun: body.dryRun, trigger: 'api', actor }));
  }

  @Get()
  @Authenticated()
  @ApiOperation({ summary: 'Recent garbage collection runs, newest first (system administrators)' })
  @ApiOkResponse({ type: GcRunListDto })
  async list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: GcRunsQueryDto,
  ): Promise<GcRunListDto> {
    requireSystemAdmin(requirePrincipal(p));
    return { items: (await this.gc.recent(query.limit ?? 20)).map((r) => GcRunDto.of(r)) };
  }
}
