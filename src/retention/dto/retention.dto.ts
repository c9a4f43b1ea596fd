import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { MAX_IMMUTABLE_PATTERNS, TAG_PATTERN } from '../../registry/tag-rules.js';

/** Days and counts are bounded so that date arithmetic never overflows. */
const MAX_DAYS = 36_500;
const MAX_KEEP = 1_000_000;

export class RetentionPolicyDto {
  @ApiProperty({
    type: Number,
    nullable: true,
    required: false,
    minimum: 0,
    example: 10,
    description: 'Keep the N most recently pushed tags (null: not set)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_KEEP)
  keepLatest?: number | null;

  @ApiProperty({
    type: [String],
    nullable: true,
    required: false,
    example: ['v*', 'stable'],
    description:
      'Tags matching one of these patterns (`*` any run, `?` one character, whole tag) are always kept (null: not set)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_IMMUTABLE_PATTERNS)
  @IsString({ each: true })
  @Matches(TAG_PATTERN, { each: true })
  keepPattern?: string[] | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    required: false,
    minimum: 1,
    example: 90,
    description:
      'Delete tags not pulled for D days; a tag never pulled counts from its push time (null: not set)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_DAYS)
  deleteNotPulledForDays?: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    required: false,
    minimum: 1,
    example: 14,
    description:
      'Delete untagged manifests created more than D days ago (also keeps manifests that tag history of the last D days names; null: not set)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_DAYS)
  deleteUntaggedAfterDays?: number | null;
}

export class RepositoryRetentionDto {
  @ApiProperty({ type: RetentionPolicyDto, description: "The repository's own policy" })
  policy: RetentionPolicyDto;

  @ApiProperty({ type: RetentionPolicyDto, description: "Its namespace's default" })
  namespaceDefault: RetentionPolicyDto;

  @ApiProperty({
    type: RetentionPolicyDto,
    description: 'What applies: the repository policy over the namespace default, field by field',
  })
  effective: RetentionPolicyDto;
}

export class RetentionTagDto {
  @ApiProperty({ example: 'v0.1' })
  name: string;

  @ApiProperty({ example: 'sha256:…' })
  digest: string;
}

export class RetentionPreviewDto {
  @ApiProperty({ type: RetentionPolicyDto })
  effective: RetentionPolicyDto;

  @ApiProperty({ type: [RetentionTagDto], description: 'Tags retention would delete now' })
  tags: RetentionTagDto[];

  @ApiProperty({ type: [String], description: 'Manifest digests retention would delete now' })
  manifests: string[];
}
