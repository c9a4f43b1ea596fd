/** The error codes of the OCI Distribution Specification, with their HTTP status. */
export const REGISTRY_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 415,
  TOOMANYREQUESTS: 429,
  PAGINATION_NUMBER_INVALID: 400,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERROR_STATUS;

export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status ?? REGISTRY_ERROR_STATUS[code];
  }

  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    return {
      errors: [
        {
          code: this.code,
          message: this.message,
          ...(this.detail === undefined ? {} : { detail: this.detail }),
        },
      ],
    };
  }
}
