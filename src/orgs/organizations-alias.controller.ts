import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentPrincipal, requirePrincipal } from '../auth/decorators.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import type { UserPrincipal } from '../auth/principal.js';
import { OrgListQueryDto, OrgPageDto } from './dto/orgs.dto.js';
import { listOrgs } from './orgs.controller.js';
import { OrgsService } from './orgs.service.js';

/** `GET /organizations`: the name the original API documentation gave the organization list. */
@ApiTags('organizations')
@Controller('organizations')
export class OrganizationsAliasController {
  constructor(private readonly orgs: OrgsService) {}

  @Get()
  @Authenticated()
  @ApiOperation({
    summary: 'Alias of GET /orgs, for clients written against the original API documentation',
    deprecated: true,
  })
  @ApiOkResponse({ type: OrgPageDto })
  @ApiBadRequestResponse({ description: 'Invalid input', type: ErrorResponseDto })
  list(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: OrgListQueryDto,
  ): Promise<OrgPageDto> {
    return listOrgs(this.orgs, requirePrincipal(p), query);
  }
}
