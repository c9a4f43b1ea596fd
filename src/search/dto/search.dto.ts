import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Length } from 'class-validator';
import { PageMetaDto, PageQueryDto } from '../../common/page.dto.js';
import { type PermissionLevel, VISIBILITIES, type Visibility } from '../../repos/permissions.js';
import {
  MATCH_TIERS,
  type MatchTier,
  MAX_TERM_LENGTH,
  SEARCH_KINDS,
  type SearchKind,
} from '../match.js';

/** `kind=repository,user` or `kind=repository&kind=user`. */
const kindList = ({ value }: { value: unknown }) =>
  (Array.isArray(value) ? value : [value])
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]))
    .map((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v))
    .filter((v) => v !== '');

export class SearchQueryDto extends PageQueryDto {
  @ApiProperty({
    description:
      'What to look for: part of a repository, user or organization name, or of a display name (case-insensitive; `%` and `_` are literal)',
    minLength: 1,
    maxLength: MAX_TERM_LENGTH,
    example: 'app',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString({ message: 'q is required: the text to search for' })
  @Length(1, MAX_TERM_LENGTH, {
    message: `q must be 1 to ${MAX_TERM_LENGTH} characters (not counting surrounding spaces)`,
  })
  q: string;

  @ApiPropertyOptional({
    description:
      'Only these kinds of result (repeat the parameter or separate with commas); all kinds when absent',
    enum: SEARCH_KINDS,
    isArray: true,
  })
  @IsOptional()
  @Transform(kindList)
  @IsArray()
  @ArrayMaxSize(SEARCH_KINDS.length * 2)
  @IsIn(SEARCH_KINDS, {
    each: true,
    message: `kind must be one of ${SEARCH_KINDS.join(', ')}`,
  })
  kind?: SearchKind[];
}

export class SearchResultDto {
  @ApiProperty({ enum: SEARCH_KINDS })
  kind: SearchKind;

  @ApiProperty({
    description: 'Full repository name (`acme/team/app`), or the user or organization name',
    example: 'acme/app',
  })
  name: string;

  @ApiProperty({
    enum: MATCH_TIERS,
    description:
      "How well the name matched: `exact` (whole name, a repository's last segments, or a whole display name), `prefix` (start of the name, of a repository path segment or of a display-name word) or `substring`",
  })
  match: MatchTier;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Display name of a user or organization (null for repositories)',
  })
  displayName: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Description of a repository or organization (null for users)',
  })
  description: string | null;

  @ApiPropertyOptional({ description: 'Repositories: the namespace holding it', example: 'acme' })
  namespace?: string;

  @ApiPropertyOptional({ enum: VISIBILITIES, description: 'Repositories only' })
  visibility?: Visibility;

  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Repositories only: last push activity',
  })
  lastPushedAt?: Date | null;

  @ApiPropertyOptional({
    enum: ['read', 'write', 'admin'],
    description: "Repositories only: the caller's permission",
  })
  permission?: PermissionLevel;
}

export class SearchCountsDto {
  @ApiProperty({ description: 'Repositories matching (that the caller may see)' })
  repository: number;

  @ApiProperty({ description: 'Organizations matching' })
  organization: number;

  @ApiProperty({ description: 'Users matching' })
  user: number;
}

export class SearchPageDto extends PageMetaDto {
  @ApiProperty({
    type: [SearchResultDto],
    description:
      'Best matches first: by tier (exact, prefix, substring), then kind (repositories, organizations, users), then name',
  })
  items: SearchResultDto[];

  @ApiProperty({
    type: SearchCountsDto,
    description:
      'Matches per kind, whatever `kind` selects (e.g. for tabs); `total` counts the selected kinds',
  })
  counts: SearchCountsDto;
}
