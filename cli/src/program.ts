import { Argument, Command, Option } from 'commander';
import { registerAccount } from './commands/account.js';
import { registerAudit } from './commands/audit.js';
import { registerAuth } from './commands/auth.js';
import { registerOrgs } from './commands/orgs.js';
import { registerRepos } from './commands/repos.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { cliVersion } from './runtime.js';

/** The whole command tree (no side effect until it is parsed). */
export function buildProgram(): Command {
  const program = new Command('aerugo')
    .description(
      "Aerugo's command-line tool: the repositories, tags, organizations, teams, grants, API keys, sessions and users of an Aerugo registry, through its management API (/api/v1).",
    )
    .version(cliVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addOption(new Option('--json', 'print machine-readable JSON (errors too, on stderr)'))
    .addOption(new Option('-v, --verbose', 'show the HTTP exchanges on stderr (without secrets)'))
    .addOption(
      new Option(
        '--context <name>',
        'use this context (a server signed in to; see aerugo context ls)',
      ),
    )
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText(
      'after',
      `
Environment:
  AERUGO_SERVER     server URL (overrides the context's; e.g. in CI)
  AERUGO_TOKEN      an access token to send instead of the context's credentials
  AERUGO_API_KEY    an API key (ak_…) to send instead of the context's credentials
  AERUGO_CONTEXT    the context to use (as --context)
  XDG_CONFIG_HOME   where config.json lives: $XDG_CONFIG_HOME/aerugo (default ~/.config/aerugo)
  NO_COLOR          no colors (they are only used on a terminal anyway)

Exit codes: 0 ok, 1 other failure, 2 usage or invalid input, 3 not signed in or credentials
refused, 4 not found, 5 not allowed, 6 conflict (exists, in use).`,
    )
    .exitOverride();

  registerAuth(program);
  registerRepos(program);
  registerOrgs(program);
  registerAccount(program);
  registerAudit(program);

  program
    .command('completion')
    .description('Print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      '\nbash:  source <(aerugo completion bash)      (add it to ~/.bashrc)\nzsh:   source <(aerugo completion zsh)       (add it to ~/.zshrc, after compinit)',
    )
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });

  return program;
}
