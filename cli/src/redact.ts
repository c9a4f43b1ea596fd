/** What --verbose must never print: credentials in headers and in JSON bodies. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
]);

const SECRET_FIELD =
  /^(password|currentpassword|newpassword|token|accesstoken|access_token|refreshtoken|refresh_token|key|apikey|api_key|secret|client_secret)$/i;

export const REDACTED = '[redacted]';

export function redactHeader(name: string, value: string): string {
  return SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
}

/** A copy of a JSON value with every secret field replaced. */
export function redactJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined ? REDACTED : redactJson(v);
    }
    return out;
  }
  return value;
}

/**
 * A body as --verbose shows it: JSON with secrets replaced; any other text only when it cannot
 * hold a credential (a form body could: it is summarized).
 */
export function redactBody(text: string, contentType: string | null, max = 2000): string {
  if (!text) return '';
  let shown: string;
  try {
    shown = JSON.stringify(redactJson(JSON.parse(text)));
  } catch {
    if (contentType && /x-www-form-urlencoded/i.test(contentType))
      return `[form body, ${text.length} bytes]`;
    shown = text;
  }
  return shown.length > max ? `${shown.slice(0, max)}… (${shown.length} characters)` : shown;
}

/** A URL as --verbose shows it: no credentials in it (the CLI never puts any there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return url;
  }
}
