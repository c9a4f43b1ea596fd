import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import type { GcRunReport } from '../gc.service.js';

export class StartGcDto {
  @ApiProperty({
    description: 'Report what a run would delete, deleting nothing',
    example: false,
  })
  @IsBoolean()
  dryRun: boolean;
}

export class GcRunsQueryDto {
  @ApiPropertyOptional({ description: 'How many runs, newest first', minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

/** One garbage collection run (a dry run's figures are what it would have done). */
export class GcRunDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'date-time' })
  startedAt: string;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Null while the run is going on (or when its node died)',
  })
  finishedAt: string | null;

  @ApiProperty()
  dryRun: boolean;

  @ApiProperty({
    enum: ['schedule', 'api'],
    description: 'Started by the timer (GC_INTERVAL_SECONDS) or by an administrator',
  })
  trigger: 'schedule' | 'api';

  @ApiProperty({ description: 'Tags deleted by retention policies' })
  tagsDeleted: number;

  @ApiProperty({ description: 'Untagged manifests deleted by retention policies' })
  manifestsDeleted: number;

  @ApiProperty({
    description:
      'Repository links to blobs removed: links no manifest of the repository references, unused for the grace period',
  })
  linksDeleted: number;

  @ApiProperty({ description: 'Unreferenced blobs queued for deletion (their grace period began)' })
  blobsQueued: number;

  @ApiProperty({ description: 'Blobs whose bytes were deleted from storage' })
  blobsDeleted: number;

  @ApiProperty({ description: 'Bytes those blobs held' })
  bytesDeleted: number;

  @ApiProperty({ description: 'Expired upload sessions and upload leftovers removed' })
  uploadsDeleted: number;

  @ApiProperty({
    type: [String],
    description: 'What went wrong (a storage failure stops the run; it is retried next time)',
  })
  errors: string[];

  static of(r: GcRunReport): GcRunDto {
    return Object.assign(new GcRunDto(), {
      ...r,
      startedAt: r.startedAt.toISOString(),
      finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
    });
  }
}

export class GcRunListDto {
  @ApiProperty({ type: [GcRunDto] })
  items: GcRunDto[];
}
