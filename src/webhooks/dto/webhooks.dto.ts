import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PageMetaDto } from '../../common/page.dto.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-rules.js';

const URL_DOC = {
  description:
    'Target of the deliveries (http or https). Addresses in loopback, private, link-local, CGNAT, ' +
    'unique-local and similar ranges are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS=true.',
  example: 'https://ci.example.com/hooks/aerugo',
  maxLength: 2048,
};
const SECRET_DOC = {
  description:
    'Key of the `X-Aerugo-Signature` HMAC-SHA256 of each body. Write-only: never returned ' +
    '(`hasSecret` says whether one is set).',
  maxLength: 256,
};
const EVENTS_DOC = {
  description:
    '`push`: manifest pushed; `delete`: manifest or repository deleted; `tag`: tag deleted or ' +
    'moved by a push; `quota`, `scan`: reserved (accepted, not sent yet).',
  enum: WEBHOOK_EVENT_TYPES,
  isArray: true,
  example: ['push', 'delete'],
};
const REPOS_DOC = {
  description:
    'Only repositories whose path below the namespace matches one of these patterns (`*`: any ' +
    'characters but `/`, `**`: any characters); empty or absent: every repository.',
  type: [String],
  example: ['web/*', 'api'],
} as const;

export class NamespaceParamDto {
  @ApiProperty({ description: 'User or organization' })
  @IsString()
  @MaxLength(255)
  namespace: string;
}

export class WebhookParamDto extends NamespaceParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  id: string;
}

export class DeliveryParamDto extends WebhookParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  deliveryId: string;
}

export class CreateWebhookDto {
  @ApiProperty(URL_DOC)
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url: string;

  @ApiPropertyOptional(SECRET_DOC)
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  secret?: string;

  @ApiProperty(EVENTS_DOC)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events: WebhookEventType[];

  @ApiPropertyOptional({ ...REPOS_DOC, type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  repositories?: string[];

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional(URL_DOC)
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({
    ...SECRET_DOC,
    description: `${SECRET_DOC.description} \`null\` removes it.`,
    nullable: true,
    type: String,
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  secret?: string | null;

  @ApiPropertyOptional(EVENTS_DOC)
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events?: WebhookEventType[];

  @ApiPropertyOptional({ ...REPOS_DOC, type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  repositories?: string[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'acme' })
  namespace: string;

  @ApiProperty({ example: 'https://ci.example.com/hooks/aerugo' })
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  events: WebhookEventType[];

  @ApiProperty({ type: [String] })
  repositories: string[];

  @ApiProperty()
  enabled: boolean;

  @ApiProperty({ description: 'Whether deliveries are signed (the secret itself is never shown)' })
  hasSecret: boolean;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}

export class WebhookAttemptDto {
  @ApiProperty({ description: '1 for the first attempt of this delivery' })
  attempt: number;

  @ApiProperty()
  startedAt: Date;

  @ApiProperty()
  durationMs: number;

  @ApiProperty({ nullable: true, type: Number, description: 'HTTP status the target answered' })
  statusCode: number | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Why no status arrived (refused target, network error, timeout)',
  })
  error: string | null;
}

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid', description: 'Also sent as `X-Aerugo-Delivery`' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  webhookId: string;

  @ApiProperty({
    description: 'Same in every attempt and redelivery of one event: deduplicate with it',
    example: '1042-push',
  })
  eventId: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES })
  eventType: WebhookEventType;

  @ApiProperty({
    enum: ['pending', 'delivered', 'failed'],
    description:
      '`pending`: not delivered yet (next attempt at `nextAttemptAt`); `delivered`: a 2xx answer; `failed`: every attempt failed',
  })
  state: 'pending' | 'delivered' | 'failed';

  @ApiProperty({ nullable: true, type: Date })
  nextAttemptAt: Date | null;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  redeliveryOf: string | null;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;

  @ApiProperty({
    description: 'The body sent (without `deliveryId`)',
    type: 'object',
    additionalProperties: true,
  })
  payload: Record<string, unknown>;

  @ApiProperty({ type: [WebhookAttemptDto], description: 'Oldest first' })
  attempts: WebhookAttemptDto[];
}

export class WebhookDeliveryPageDto extends PageMetaDto {
  @ApiProperty({ type: [WebhookDeliveryDto] })
  items: WebhookDeliveryDto[];
}
