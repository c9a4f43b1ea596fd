import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';

export class SetQuotaDto {
  @ApiProperty({
    type: Number,
    nullable: true,
    minimum: 0,
    example: 10737418240,
    description: 'Quota in bytes, or null to lift it',
  })
  @ValidateIf((o: SetQuotaDto) => o.bytes !== null)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  bytes: number | null;
}

export class RepositoryUsageDto {
  @ApiProperty({ example: 'acme/app' })
  name: string;

  @ApiProperty({ description: 'Bytes of the blobs linked into the repository' })
  usageBytes: number;
}

export class NamespaceUsageDto {
  @ApiProperty({ example: 'acme' })
  namespace: string;

  @ApiProperty({
    description: 'Bytes of the blobs linked into its repositories, each blob counted once',
  })
  usageBytes: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Quota in bytes (null: none); a push past it is refused with DENIED',
  })
  quotaBytes: number | null;

  @ApiProperty({ type: [RepositoryUsageDto] })
  repositories: RepositoryUsageDto[];
}
