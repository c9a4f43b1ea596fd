/**
 * Aerugo needs Node.js 20.19 or newer (package.json `engines`): NestJS 12 is ES modules only and
 * its dependencies expect what 20.19 brought. Imported first by main.ts, so that an older Node
 * stops with this message instead of an obscure error further on.
 */
export const MIN_NODE_VERSION = '20.19.0';

/** A message when `version` (e.g. "20.18.1") is older than MIN_NODE_VERSION, else undefined. */
export function nodeVersionProblem(version: string): string | undefined {
  const parse = (v: string) =>
    v
      .replace(/^v/, '')
      .split('.')
      .map((p) => Number.parseInt(p, 10));
  const have = parse(version);
  const need = parse(MIN_NODE_VERSION);
  for (let i = 0; i < need.length; i++) {
    const h = Number.isFinite(have[i]) ? have[i] : 0;
    if (h > need[i]) return undefined;
    if (h < need[i])
      return (
        `Aerugo needs Node.js ${MIN_NODE_VERSION.replace(/\.0$/, '')} or newer; this is Node.js ` +
        `${version.replace(/^v/, '')}. Install a current Node.js 20, 22 or 24 release.`
      );
  }
  return undefined;
}

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
