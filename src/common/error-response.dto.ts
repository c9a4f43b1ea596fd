import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The error body of the management API. */
export class ErrorResponseDto {
  @ApiProperty({ example: 404 })
  statusCode: number;

  @ApiProperty({
    description: 'What went wrong (a list for validation errors)',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  })
  message: string | string[];

  @ApiPropertyOptional({ example: 'Not Found' })
  error?: string;
}
