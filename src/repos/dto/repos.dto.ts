import { REPOSITORY_PATH } from '../../common/name-grammar.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { PageMetaDto, PageQueryDto } from '../../common/page.dto.js';
import { NameProperty } from '../../users/dto/users.dto.js';
import {
  GRANT_LEVELS,
  type GrantLevel,
  type PermissionLevel,
  VISIBILITIES,
  type Visibility,
} from '../permissions.js';
import type { RepositoryEntity } from '../repository.entity.js';

/** Repository path below the namespace: components of the registry name grammar joined by "/". */
export const REPO_PATH = REPOSITORY_PATH;

const lower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class RepoSearchQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only repositories of this user or organization' })
  @IsOptional()
  @Transform(lower)
  @IsString()
  @MaxLength(64)
  namespace?: string;

  @ApiPropertyOptional({ description: 'Part of the repository name' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  q?: string;
}

export class CreateRepoDto {
  @NameProperty('User or organization that will hold the repository')
  namespace: string;

  @ApiProperty({
    description: 'Path below the namespace; may contain "/"',
    example: 'team/app',
    pattern: REPO_PATH.source,
  })
  @Transform(lower)
  @IsString()
  @Length(1, 190)
  @Matches(REPO_PATH, { message: 'name must be lower-case name components separated by "/"' })
  name: string;

  @ApiPropertyOptional({
    enum: VISIBILITIES,
    description: 'Defaults to DEFAULT_REPOSITORY_VISIBILITY',
  })
  @IsOptional()
  @IsIn(VISIBILITIES)
  visibility?: Visibility;

  @ApiPropertyOptional({ maxLength: 4096 })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  description?: string;
}

export class UpdateRepoDto {
  @ApiPropertyOptional({ enum: VISIBILITIES })
  @IsOptional()
  @IsIn(VISIBILITIES)
  visibility?: Visibility;

  @ApiPropertyOptional({
    type: String,
    maxLength: 4096,
    nullable: true,
    description: 'null clears it',
    example: 'What the image is for',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  description?: string | null;
}

export class RepoDto {
  @ApiProperty({ example: 'acme/team/app' })
  name: string;

  @ApiProperty({ example: 'acme' })
  namespace: string;

  @ApiProperty({ enum: VISIBILITIES })
  visibility: Visibility;

  @ApiProperty({ nullable: true, type: String })
  description: string | null;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty({
    nullable: true,
    type: Date,
    description: 'Last push activity (blob or manifest upload)',
  })
  lastPushedAt: Date | null;

  @ApiProperty({ enum: ['read', 'write', 'admin'], description: "The caller's permission" })
  permission: PermissionLevel;

  static of(r: RepositoryEntity, permission: PermissionLevel): RepoDto {
    return {
      name: r.name,
      namespace: r.namespace,
      visibility: r.visibility,
      description: r.description,
      createdAt: r.createdAt,
      lastPushedAt: r.lastPushedAt,
      permission,
    };
  }
}

export class RepoPageDto extends PageMetaDto {
  @ApiProperty({ type: [RepoDto] })
  items: RepoDto[];
}

export class TagDto {
  @ApiProperty({ example: 'latest' })
  name: string;

  @ApiProperty({ example: 'sha256:…' })
  digest: string;

  @ApiProperty()
  mediaType: string;

  @ApiProperty({
    description:
      'Bytes stored for the image: the manifest plus the config and layers it references (all platforms of an index)',
  })
  size: number;

  @ApiProperty({
    type: [String],
    example: ['linux/amd64', 'linux/arm64/v8'],
    description:
      'Platforms as os/architecture[/variant]: the entries of an index, or the config of an image; empty for artifacts',
  })
  platforms: string[];

  @ApiProperty({
    description: 'When the tag was last pushed or moved',
    type: String,
    format: 'date-time',
  })
  pushedAt: Date;

  @ApiProperty({
    description:
      'Manifest GETs by this tag (counted in memory by each node and written every few seconds, so the latest pulls may not show yet)',
  })
  pullCount: number;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When the tag was last pulled (null: never, or not written yet)',
  })
  lastPulledAt: Date | null;
}

export const TAG_SORTS = ['name', 'pushedAt', 'size'] as const;

export class TagQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Part of the tag name (case-insensitive)', maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  q?: string;

  @ApiPropertyOptional({ enum: TAG_SORTS, default: 'name' })
  @IsOptional()
  @IsIn(TAG_SORTS)
  sort?: (typeof TAG_SORTS)[number];

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'asc' })
  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';
}

export class TagPageDto extends PageMetaDto {
  @ApiProperty({ type: [TagDto] })
  items: TagDto[];
}

export class RepoDetailsDto extends RepoDto {
  @ApiProperty({
    description:
      'Manifest GETs in this repository, by tag or by digest (written every few seconds, so the latest pulls may not show yet)',
  })
  pullCount: number;

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'When a manifest of the repository was last pulled (null: never, or not written yet)',
  })
  lastPulledAt: Date | null;

  @ApiProperty({
    description:
      'Bytes of the blobs linked into the repository (its namespace counts a blob shared by several of its repositories once)',
  })
  usageBytes: number;

  @ApiProperty({ type: [TagDto], description: 'Tags in name order (at most 1000)' })
  tags: TagDto[];

  @ApiProperty({ description: 'More tags exist than are listed' })
  tagsTruncated: boolean;
}

export class UserGrantDto {
  @NameProperty('User')
  username: string;

  @ApiProperty({ enum: GRANT_LEVELS })
  @IsIn(GRANT_LEVELS)
  level: GrantLevel;
}

export class TeamGrantDto {
  @NameProperty("Team of the repository's organization")
  team: string;

  @ApiProperty({ enum: GRANT_LEVELS })
  @IsIn(GRANT_LEVELS)
  level: GrantLevel;
}

export const MAX_GRANTS = 1000;

/**
 * A complete list of grants in the replace-all `PUT …/permissions`: one message per fault, naming
 * it (a missing list would otherwise read as "must be an array, at most 1000 elements").
 */
function GrantList(property: 'users' | 'teams', one: string) {
  return ValidateBy({
    name: 'grantList',
    validator: {
      validate: (v: unknown) => Array.isArray(v) && v.length <= MAX_GRANTS,
      defaultMessage: (args) =>
        args?.value === undefined || args?.value === null
          ? `${property} is missing: this PUT replaces every grant of the repository, so send the ` +
            `complete list of ${property} grants ([] for none), or change one grant with ` +
            `PUT/DELETE …/permissions/${property}/{${one}}`
          : Array.isArray(args?.value)
            ? `${property} may hold at most ${MAX_GRANTS} grants`
            : `${property} must be an array of grants`,
    },
  });
}

export class RepoPermissionsDto {
  @ApiProperty({
    type: [UserGrantDto],
    maxItems: MAX_GRANTS,
    description: 'Every user grant of the repository ([] for none)',
  })
  @GrantList('users', 'username')
  @ValidateNested({ each: true })
  @Type(() => UserGrantDto)
  users: UserGrantDto[];

  @ApiProperty({
    type: [TeamGrantDto],
    maxItems: MAX_GRANTS,
    description:
      'Every team grant of the repository ([] for none); only for repositories of an organization',
  })
  @GrantList('teams', 'team')
  @ValidateNested({ each: true })
  @Type(() => TeamGrantDto)
  teams: TeamGrantDto[];
}

/** Body of `PUT …/permissions/users/{username}` and `…/teams/{team}`. */
export class GrantLevelDto {
  @ApiProperty({ enum: GRANT_LEVELS })
  @IsIn(GRANT_LEVELS, { message: `level must be one of ${GRANT_LEVELS.join(', ')}` })
  level: GrantLevel;
}
