import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsString, Matches, MaxLength } from 'class-validator';
import { PageMetaDto } from '../../common/page.dto.js';
import { MAX_IMMUTABLE_PATTERNS, TAG_PATTERN } from '../../registry/tag-rules.js';

export class TagHistoryActorDto {
  @ApiProperty({ enum: ['user', 'robot', 'anonymous', 'system'], example: 'user' })
  kind: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'User name, robot name or server part; null for anonymous callers',
    example: 'alice',
  })
  name: string | null;
}

export class TagHistoryEntryDto {
  @ApiProperty({ example: 'v1' })
  tag: string;

  @ApiProperty({
    enum: ['created', 'moved', 'deleted'],
    description:
      '`created`: pushed for the first time (or again after a delete); `moved`: pointed at another manifest (a push or a restore); `deleted`: removed by a tag delete or with its manifest',
  })
  action: 'created' | 'moved' | 'deleted';

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'sha256 digest the tag pointed at before; null when created',
  })
  oldDigest: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'sha256 digest it points at after; null when deleted',
  })
  newDigest: string | null;

  @ApiProperty({ type: TagHistoryActorDto })
  actor: TagHistoryActorDto;

  @ApiProperty({ description: 'When the change committed' })
  at: Date;
}

export class TagHistoryPageDto extends PageMetaDto {
  @ApiProperty({ type: [TagHistoryEntryDto], description: 'Newest first' })
  items: TagHistoryEntryDto[];
}

export class RestoreTagDto {
  @ApiProperty({
    description: 'sha256 digest the tag pointed at before (from its history)',
    example: 'sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b',
  })
  @IsString()
  @Matches(/^sha256:[a-f0-9]{64}$/, { message: 'digest must be a sha256 digest' })
  digest: string;
}

export class RestoredTagDto {
  @ApiProperty({ example: 'v1' })
  tag: string;

  @ApiProperty({ description: 'sha256 digest the tag points at now' })
  digest: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'sha256 digest it pointed at before the restore (null when it did not exist)',
  })
  previousDigest: string | null;
}

export class ImmutableTagsDto {
  @ApiProperty({
    type: [String],
    maxItems: MAX_IMMUTABLE_PATTERNS,
    example: ['v*', 'release-*', 'stable'],
    description:
      'Tag patterns (`*` any run of characters, `?` one character, otherwise the tag grammar; whole tag, case-sensitive). ' +
      'A matching tag may be created and pushed again with the same digest, but not moved or deleted (nor its manifest). ' +
      `At most ${MAX_IMMUTABLE_PATTERNS}; an empty list lifts every rule.`,
  })
  @IsArray()
  @ArrayMaxSize(MAX_IMMUTABLE_PATTERNS)
  @IsString({ each: true })
  @MaxLength(128, { each: true })
  @Matches(TAG_PATTERN, {
    each: true,
    message: 'each pattern must be tag characters [A-Za-z0-9_.-] with * and ?',
  })
  patterns: string[];
}
