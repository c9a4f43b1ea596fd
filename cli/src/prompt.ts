import { usageError } from './errors.js';

/** Everything on stdin (for --password-stdin and --api-key-stdin). */
export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A secret read from stdin: the trailing line break dropped, nothing else (as docker does). */
export function secretFrom(text: string, what: string): string {
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw usageError(`no ${what} on standard input`);
  if (/[\r\n]/.test(secret)) throw usageError(`the ${what} on standard input has several lines`);
  return secret;
}

export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/** A secret typed at the terminal, not echoed. */
export async function promptSecret(prompt: string, flagHint: string): Promise<string> {
  if (!interactive())
    throw usageError(`no terminal to ask for the ${flagHint.split(' ')[0]}: use ${flagHint}`);
  const { read } = await import('read');
  const value = await read({ prompt, silent: true, replace: '', output: process.stderr });
  process.stderr.write('\n'); // the Enter key was not echoed either
  if (!value) throw usageError('nothing was entered');
  return value;
}

export async function promptLine(prompt: string): Promise<string> {
  const { read } = await import('read');
  const value = await read({ prompt, output: process.stderr });
  return value.trim();
}

/** Asks the person to type `expected` before something that cannot be undone; --yes skips it. */
export async function confirmByName(what: string, expected: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!interactive()) throw usageError(`${what} cannot be undone: add --yes to confirm`);
  const typed = await promptLine(`${what} cannot be undone. Type "${expected}" to confirm: `);
  if (typed !== expected) throw usageError('not confirmed; nothing was changed');
}
