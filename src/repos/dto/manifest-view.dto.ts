import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class DescriptorViewDto {
  @ApiProperty({ example: 'sha256:…' })
  digest: string;

  @ApiProperty()
  mediaType: string;

  @ApiProperty({ description: 'Bytes' })
  size: number;

  @ApiPropertyOptional({ description: 'Index entries: os/architecture[/variant]' })
  platform?: string;

  @ApiPropertyOptional()
  artifactType?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  annotations?: Record<string, string>;
}

export class HistoryEntryDto {
  @ApiPropertyOptional({ format: 'date-time' })
  created?: string;

  @ApiPropertyOptional({ description: 'The build step that made the layer' })
  createdBy?: string;

  @ApiPropertyOptional({ description: 'The step made no layer' })
  emptyLayer?: boolean;

  @ApiPropertyOptional()
  comment?: string;
}

export class ImageConfigViewDto {
  @ApiPropertyOptional({ example: 'linux' })
  os?: string;

  @ApiPropertyOptional({ example: 'amd64' })
  architecture?: string;

  @ApiPropertyOptional({ example: 'v8' })
  variant?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  created?: string;

  @ApiPropertyOptional({ type: [String] })
  entrypoint?: string[];

  @ApiPropertyOptional({ type: [String] })
  cmd?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Environment (NAME=value)' })
  env?: string[];

  @ApiPropertyOptional()
  workingDir?: string;

  @ApiPropertyOptional()
  user?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  labels?: Record<string, string>;

  @ApiPropertyOptional({ type: [HistoryEntryDto] })
  history?: HistoryEntryDto[];
}

export class ManifestViewDto {
  @ApiProperty({ example: 'sha256:…' })
  digest: string;

  @ApiProperty()
  mediaType: string;

  @ApiProperty({ enum: ['image', 'index'], description: 'An image manifest or an index' })
  kind: 'image' | 'index';

  @ApiProperty({ description: 'Bytes of the manifest itself' })
  size: number;

  @ApiPropertyOptional({ description: 'artifactType, else the config media type of an artifact' })
  artifactType?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  annotations?: Record<string, string>;

  @ApiPropertyOptional({ type: DescriptorViewDto, description: 'The manifest this one refers to' })
  subject?: DescriptorViewDto;

  @ApiProperty({ type: [DescriptorViewDto], description: 'Index: its manifests ([] for images)' })
  manifests: DescriptorViewDto[];

  @ApiProperty({ type: [DescriptorViewDto], description: 'Image: its layers ([] for indexes)' })
  layers: DescriptorViewDto[];

  @ApiPropertyOptional({ type: DescriptorViewDto, description: 'Image: its config blob' })
  config?: DescriptorViewDto;

  @ApiPropertyOptional({
    type: ImageConfigViewDto,
    description: 'Image: what the config says (absent for artifacts and configs over 1 MiB)',
  })
  image?: ImageConfigViewDto;

  @ApiProperty({
    type: [DescriptorViewDto],
    description: 'Referrers: signatures, SBOMs, attestations… whose subject is this manifest',
  })
  referrers: DescriptorViewDto[];
}
