import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OptionalAuth } from '../auth/decorators.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { pageOf } from '../common/page.dto.js';
import type { UserPrincipal } from '../auth/principal.js';
import { SearchPageDto, SearchQueryDto } from './dto/search.dto.js';
import { SEARCH_KINDS, searchTerm } from './match.js';
import { SearchService } from './search.service.js';

@ApiTags('search')
@Controller('search')
export class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get()
  @OptionalAuth()
  @ApiOperation({
    summary: 'Search repositories, organizations and users the caller may see, best matches first',
    description:
      'Ranked by tier (`exact`: whole name, last segments of a repository name, whole display name; ' +
      '`prefix`: start of a name, of a repository path segment or of a display-name word; ' +
      '`substring`), then kind (repositories, organizations, users), then name. Repositories ' +
      'are those `GET /repos` would list for the caller. Signed-in callers find every ' +
      'organization and active user; anonymous callers only those holding a public repository.',
  })
  @ApiOkResponse({ type: SearchPageDto })
  @ApiBadRequestResponse({
    description: 'Missing or invalid `q`, `kind` or paging',
    type: ErrorResponseDto,
  })
  async find(
    @CurrentPrincipal() p: UserPrincipal | null,
    @Query() query: SearchQueryDto,
  ): Promise<SearchPageDto> {
    const term = searchTerm(query.q);
    if (!term) throw new BadRequestException('q is required: the text to search for');
    const { page, perPage } = pageOf(query);
    return this.search.search(
      p,
      term,
      query.kind?.length ? query.kind : SEARCH_KINDS,
      page,
      perPage,
    );
  }
}
