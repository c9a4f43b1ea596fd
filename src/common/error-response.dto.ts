import { ApiProperty } from '@nestjs/swagger';
import { API_ERROR_CODES, type ApiErrorCode } from './api-error.js';

/** The error body of the management API. */
export class ErrorResponseDto {
  @ApiProperty({ example: 404 })
  statusCode: number;

  @ApiProperty({
    description: 'What went wrong, for people (a list for validation errors)',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
  })
  message: string | string[];

  @ApiProperty({ example: 'Not Found', description: 'The HTTP reason phrase' })
  error: string;

  @ApiProperty({
    enum: Object.keys(API_ERROR_CODES),
    example: 'NOT_FOUND',
    description:
      'Stable machine-readable code; branch on it, not on `message`. ' +
      Object.entries(API_ERROR_CODES)
        .map(([code, meaning]) => `\`${code}\`: ${meaning}`)
        .join('; ') +
      '. 429 and 503 answers carry a `Retry-After` header (seconds).',
  })
  code: ApiErrorCode;
}
