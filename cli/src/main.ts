import { CommanderError } from 'commander';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { Output } from './output.js';
import { buildProgram } from './program.js';

/** Commander's own outcomes: help and version end well, anything else is a usage error. */
function commanderExit(e: CommanderError): ExitCode {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
  if (e.exitCode === 0) return EXIT.ok;
  return EXIT.usage;
}

/** Runs the CLI on `argv` (process.argv shape); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      const code = commanderExit(e);
      // Commander has printed its message; with --json the class is also given as JSON.
      if (code !== EXIT.ok && wantsJson)
        process.stderr.write(
          `${JSON.stringify({ error: { message: e.message.replace(/^error: /, ''), exitCode: code, code: 'USAGE' } })}\n`,
        );
      return code;
    }
    const out = new Output(wantsJson, false);
    if (e instanceof CliError) {
      out.error(e);
      return e.exitCode;
    }
    out.error(new CliError(`unexpected failure: ${(e as Error)?.stack ?? String(e)}`, EXIT.other));
    return EXIT.other;
  }
}

const code = await run(process.argv);
// Let stdout drain (a pipe may still hold the output), then exit with the code.
process.exitCode = code;
