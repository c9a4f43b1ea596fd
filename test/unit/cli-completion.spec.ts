import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { bashCompletion, zshCompletion } from '../../cli/src/completion.js';
import { buildProgram } from '../../cli/src/program.js';

// Shell completion, run in the real shells: the generated script is sourced and its completion
// function called as bash (COMP_WORDS) or zsh (a stubbed compadd/_describe) would call it.

function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return (cmd.commands as Command[])
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

const dir = mkdtempSync(join(tmpdir(), 'aerugo-completion-'));

function bashComplete(line: string): string[] {
  const script = join(dir, 'aerugo.bash');
  writeFileSync(script, bashCompletion(buildProgram()));
  const words = line.split(' ');
  const program = [
    `source ${script}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_aerugo_complete',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  return execFileSync('bash', ['--norc', '--noprofile', '-c', program], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort();
}

const zsh = ['/usr/bin/zsh', '/bin/zsh'].find((p) => existsSync(p));
if (!zsh) {
  if (process.env.CI === 'true') throw new Error('zsh is required in CI (apt-get install -y zsh)');
  console.warn('zsh is not installed: skipping the zsh completion test (apt-get install -y zsh)');
}

function zshComplete(line: string): string[] {
  const script = join(dir, '_aerugo');
  writeFileSync(script, zshCompletion(buildProgram()));
  const words = line.split(' ');
  const program = [
    // Stand-ins for the completion system: print what would be offered.
    'compdef() { :; }',
    'compadd() { [[ "$1" == -- ]] && shift; printf "%s\\n" "$@"; }',
    '_describe() { local n; for n in "${(@P)4}"; do printf "%s\\n" "${n%%:*}"; done; }',
    `source ${script}`,
    `words=(${words.map((w) => `'${w}'`).join(' ')})`,
    `CURRENT=${words.length}`,
    '_aerugo',
  ].join('\n');
  return execFileSync(zsh!, ['-f', '-c', program], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort();
}

describe('the command tree', () => {
  it('gives every command a description and a help text', () => {
    const program = buildProgram();
    const paths = commandPaths(program);
    expect(paths.length).toBeGreaterThan(50);
    const find = (path: string[]) =>
      path.reduce<Command>(
        (c, name) => (c.commands as Command[]).find((s) => s.name() === name)!,
        program,
      );
    for (const path of paths) {
      const cmd = find(path);
      expect([path.join(' '), cmd.description().length > 0]).toEqual([path.join(' '), true]);
      expect(cmd.helpInformation()).toContain(`Usage: aerugo ${path.join(' ')}`);
    }
    for (const path of [
      ['login'],
      ['logout'],
      ['status'],
      ['whoami'],
      ['search'],
      ['repo', 'set-description'],
      ['tag', 'rm'],
      ['org', 'member', 'set-role'],
      ['team', 'member', 'rm'],
      ['perm', 'revoke'],
      ['apikey', 'revoke'],
      ['session', 'revoke'],
      ['admin', 'user', 'reset-password'],
      ['completion'],
    ])
      expect(paths).toContainEqual(path);
  });
});

describe('bash completion', () => {
  it('completes commands, subcommands and nested subcommands', () => {
    expect(bashComplete('aerugo ')).toEqual(
      [
        'admin',
        'apikey',
        'audit',
        'completion',
        'context',
        'login',
        'logout',
        'org',
        'perm',
        'repo',
        'search',
        'session',
        'status',
        'tag',
        'team',
        'whoami',
      ].sort(),
    );
    expect(bashComplete('aerugo repo s')).toEqual(['set-description', 'set-visibility', 'show']);
    expect(bashComplete('aerugo org member ')).toEqual(['add', 'ls', 'rm', 'set-role']);
    expect(bashComplete('aerugo admin user ')).toContain('reset-password');
  });

  it('skips global options and their values on the way', () => {
    expect(bashComplete('aerugo --context prod --json repo s')).toEqual([
      'set-description',
      'set-visibility',
      'show',
    ]);
    expect(bashComplete('aerugo repo rm --y')).toEqual(['--yes']); // an alias completes as its command
  });

  it("completes a command's options, including the global ones", () => {
    const opts = bashComplete('aerugo perm grant --');
    expect(opts).toEqual(
      expect.arrayContaining(['--user', '--team', '--level', '--json', '--verbose', '--context']),
    );
    expect(bashComplete('aerugo repo ls --l')).toEqual(['--limit']);
  });

  it('completes the values of options and arguments with choices', () => {
    expect(bashComplete('aerugo perm grant acme/app --level ')).toEqual(['admin', 'read', 'write']);
    expect(bashComplete('aerugo org member add acme bob --role o')).toEqual(['owner']);
    expect(bashComplete('aerugo repo set-visibility acme/app ')).toEqual(['private', 'public']);
    expect(bashComplete('aerugo completion ')).toEqual(['bash', 'zsh']);
    expect(bashComplete('aerugo org member set-role acme bob ')).toEqual([
      'admin',
      'member',
      'owner',
    ]);
    // A free value (a context name) gets no suggestions of commands.
    expect(bashComplete('aerugo --context ')).toEqual([]);
  });
});

(zsh ? describe : describe.skip)('zsh completion', () => {
  it('completes commands, options and choices', () => {
    expect(zshComplete('aerugo repo s')).toEqual(
      expect.arrayContaining(['set-description', 'set-visibility', 'show']),
    );
    expect(zshComplete('aerugo perm grant acme/app --level ')).toEqual(['admin', 'read', 'write']);
    expect(zshComplete('aerugo perm grant --')).toEqual(
      expect.arrayContaining(['--user', '--team', '--level', '--json']),
    );
    expect(zshComplete('aerugo repo set-visibility acme/app ')).toEqual(['private', 'public']);
  });
});
