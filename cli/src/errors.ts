/**
 * Exit codes by class of failure, so that scripts can branch on them. A server answer is
 * classified by its machine-readable `code` when the server sends one it knows, else by its HTTP
 * status; never by its message.
 */
export const EXIT = {
  ok: 0,
  /** Anything else: a server error, a network failure, an unexpected answer. */
  other: 1,
  /** The command line was wrong, or the server refused the input as invalid (400). */
  usage: 2,
  /** Not signed in, or the credentials were refused (401). */
  auth: 3,
  /** No such thing (404), or one the caller may not see. */
  notFound: 4,
  /** Signed in, but not allowed (403). */
  denied: 5,
  /** The request conflicts with what exists (409): the name is taken, the namespace not empty… */
  conflict: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Codes of the management API's error bodies (`{statusCode, message, error, code}`). */
const CODE_CLASSES: Record<string, ExitCode> = {
  VALIDATION_FAILED: EXIT.usage,
  UNAUTHORIZED: EXIT.auth,
  FORBIDDEN: EXIT.denied,
  REGISTRATION_DISABLED: EXIT.denied,
  NOT_FOUND: EXIT.notFound,
  CONFLICT: EXIT.conflict,
  NAME_TAKEN: EXIT.conflict,
  EMAIL_TAKEN: EXIT.conflict,
  NAMESPACE_NOT_EMPTY: EXIT.conflict,
  LAST_OWNER: EXIT.conflict,
  ALREADY_MEMBER: EXIT.conflict,
  TEAM_EXISTS: EXIT.conflict,
  REPOSITORY_EXISTS: EXIT.conflict,
  TAG_IMMUTABLE: EXIT.conflict,
  MANIFEST_GONE: EXIT.conflict,
};

/** The exit code of an HTTP error answer: its `code` when it is a known one, else its status. */
export function exitCodeFor(status: number, code?: string): ExitCode {
  if (code && Object.hasOwn(CODE_CLASSES, code)) return CODE_CLASSES[code];
  if (status === 400 || status === 422) return EXIT.usage;
  if (status === 401) return EXIT.auth;
  if (status === 403) return EXIT.denied;
  if (status === 404 || status === 410) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.other;
}

/** A failure to report as one line on stderr, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.other,
    /** Machine-readable details for `--json` (status and code of a server answer). */
    readonly details: { status?: number; code?: string } = {},
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage, { code: 'USAGE' });
}

/** The message of a management API error body: its `message` (a list is joined), else the text. */
export function serverMessage(body: unknown, status: number, statusText = ''): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: unknown; error_description?: unknown };
    if (Array.isArray(b.message) && b.message.length)
      return b.message.map((m) => String(m)).join('; ');
    if (typeof b.message === 'string' && b.message) return b.message;
    if (typeof b.error_description === 'string' && b.error_description) return b.error_description;
    if (typeof b.error === 'string' && b.error) return b.error;
  }
  if (typeof body === 'string' && body.trim() && body.length <= 200 && !body.includes('<'))
    return body.trim();
  return `the server answered ${status}${statusText ? ` ${statusText}` : ''}`;
}

/** The `code` field of an error body, when there is one. */
export function serverCode(body: unknown): string | undefined {
  if (body && typeof body === 'object') {
    const code = (body as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
  }
  return undefined;
}

/** A CliError for a management API error answer. */
export function apiError(status: number, body: unknown, statusText = ''): CliError {
  const code = serverCode(body);
  return new CliError(serverMessage(body, status, statusText), exitCodeFor(status, code), {
    status,
    ...(code ? { code } : {}),
  });
}
