import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  HttpException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';

/**
 * The machine-readable `code` of every management API error (`/api/v1/`), next to Nest's
 * `statusCode`, `message` and `error`. Clients branch on `code`, never on `message`. The generic
 * codes follow the status; services throw a specific one with `apiError` where they tell cases
 * apart. Documented in README ("Errors") and in the OpenAPI document (ErrorResponseDto).
 */
export const API_ERROR_CODES = {
  // Generic: one per status (what the error filter gives any error without a specific code).
  VALIDATION_FAILED: 'the request is malformed: a field, parameter or body failed validation',
  UNAUTHORIZED: 'credentials are missing, malformed, expired or revoked',
  FORBIDDEN: 'the caller may not do this',
  NOT_FOUND: 'no such resource (or the caller may not see it)',
  METHOD_NOT_ALLOWED: 'the route does not take this method',
  CONFLICT: 'the request conflicts with the current state',
  PAYLOAD_TOO_LARGE: 'the request body is too large',
  UNSUPPORTED_MEDIA_TYPE: 'the request body has an unsupported type or charset',
  TOO_MANY_REQUESTS: 'too many requests; wait for Retry-After seconds',
  UNAVAILABLE: 'a backing service (database, storage) is unavailable; retry after Retry-After',
  INTERNAL_ERROR: 'an unexpected server error (a bug: it is logged)',
  // Specific cases services tell apart.
  NAME_TAKEN: 'the user or organization name is already taken',
  NAME_RESERVED: 'the name is reserved for the system',
  EMAIL_TAKEN: 'the e-mail address is already in use',
  NAMESPACE_NOT_EMPTY: 'the user or organization still holds repositories',
  LAST_OWNER: 'an organization needs at least one owner',
  ALREADY_MEMBER: 'the user is already a member of the organization',
  TEAM_EXISTS: 'a team of that name already exists in the organization',
  REPOSITORY_EXISTS: 'a repository of that name already exists',
  REGISTRATION_DISABLED: 'self-registration is disabled (REGISTRATION_ENABLED=false)',
  TAG_IMMUTABLE:
    'an immutable tag pattern of the repository forbids moving or deleting that tag (the message names the rule)',
  MANIFEST_GONE: 'the manifest is no longer in the repository (a tag cannot be restored to it)',
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** The generic code of a status, for errors thrown without a specific one. */
export function defaultApiErrorCode(status: number): ApiErrorCode {
  switch (status) {
    case 400:
      return 'VALIDATION_FAILED';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'TOO_MANY_REQUESTS';
    case 503:
      return 'UNAVAILABLE';
    default:
      if (status >= 500) return status === 500 ? 'INTERNAL_ERROR' : 'UNAVAILABLE';
      return status === 422 ? 'VALIDATION_FAILED' : status === 410 ? 'NOT_FOUND' : 'CONFLICT';
  }
}

/** The JSON body of a management API error. */
export interface ApiErrorBody {
  statusCode: number;
  message: string | string[];
  error: string;
  code: ApiErrorCode;
}

/** Nest's exception class per status, so that `instanceof ConflictException` still holds. */
const EXCEPTIONS: Record<number, new (body: object) => HttpException> = {
  400: BadRequestException,
  401: UnauthorizedException,
  403: ForbiddenException,
  404: NotFoundException,
  409: ConflictException,
  413: PayloadTooLargeException,
  415: UnsupportedMediaTypeException,
  503: ServiceUnavailableException,
};

/** The body of a management API error with a specific code. */
export function apiErrorBody(
  status: number,
  code: ApiErrorCode,
  message: string | string[],
): ApiErrorBody {
  return { statusCode: status, message, error: reasonPhrase(status), code };
}

/**
 * How services throw an error with a specific code:
 * `throw apiError(409, 'LAST_OWNER', 'an organization needs at least one owner')`. The result is
 * Nest's exception of that status (a ConflictException here) carrying the coded body, and
 * `retryAfterSeconds` for the `Retry-After` header when given.
 */
export function apiError(
  status: number,
  code: ApiErrorCode,
  message: string | string[],
  opts: { retryAfterSeconds?: number } = {},
): HttpException {
  const body = apiErrorBody(status, code, message);
  const Exception = EXCEPTIONS[status];
  const e = Exception ? new Exception(body) : new HttpException(body, status);
  return Object.assign(e, {
    code,
    ...(opts.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: opts.retryAfterSeconds }),
  });
}

const PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return PHRASES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}
