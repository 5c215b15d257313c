// What both command lines say about themselves: one command's help cut out of the global
// usage text, and Node's argument-parser errors retold in the commands' own words.

function block(lines: readonly string[], start: number): string[] {
  const first = lines[start] as string;
  const indent = first.length - first.trimStart().length;
  const out = [first];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const lineIndent = line.length - line.trimStart().length;
    if (line.trim() === '' || lineIndent <= indent) break;
    out.push(line);
  }
  return out;
}

/**
 * The help of one command, from `usage` (the global help): its usage lines (those starting
 * with `program command`), its line under "Commands:" if there is one, and the lines of the
 * options it takes (`flags`, without dashes).
 */
export function commandHelp(usage: string, program: string, command: string, flags: readonly string[]): string {
  const lines = usage.split('\n');
  const usageLines: string[] = [];
  const summary: string[] = [];
  const options: string[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\S.*:$/.test(line)) {
      section = line;
      continue;
    }
    const trimmed = line.trimStart();
    if (section === 'Usage:' && (trimmed === `${program} ${command}` || trimmed.startsWith(`${program} ${command} `))) usageLines.push(...block(lines, i));
    else if (section === 'Commands:' && line.startsWith(`  ${command} `) && !line.startsWith(`  ${command}  -`))
      summary.push(...block(lines, i).map((l) => l.replace(/^\s+/, '  ')));
    else if (section === 'Options:' && trimmed.startsWith('--')) {
      const names = (trimmed.split(/\s/)[0] as string).split('/').map((n) => n.replace(/^--/, ''));
      if (names.some((n) => flags.includes(n))) options.push(...block(lines, i));
    }
  }
  return [`Usage:`, ...usageLines, ...(summary.length > 0 ? ['', ...summary] : []), ...(options.length > 0 ? ['', 'Options:', ...options] : []), ''].join('\n');
}

/**
 * Retells an error of node:util parseArgs (strict mode) in the commands' words: which
 * option was wrong and, for an unknown one, which options `command` takes.
 */
export function argumentErrorMessage(err: unknown, command: string, flags: readonly string[]): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  const option = quoted.split(' ')[0] ?? quoted;
  const takes = flags.length > 0 ? flags.map((f) => `--${f}`).join(', ') : 'none';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${command}: unknown option ${option} (options: ${takes})`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `${command}: unexpected argument "${quoted}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message)) return `${command}: ${option} is a switch and takes no value`;
      if (/ambiguous/.test(message)) return `${command}: ${option} needs a value; one that starts with "-" is written ${option}=-VALUE`;
      return `${command}: ${option} needs a value`;
    default:
      return `${command}: ${message.split('\n')[0] ?? message}`;
  }
}

/**
 * What a command line says about an argument it refused, in both programs' words: the error,
 * then where its help is (the command's own when `argv` names one of `commands`).
 */
export function usageFailureText(program: string, message: string, argv: readonly string[], commands: readonly string[]): string {
  const topic = argv[0] !== undefined && commands.includes(argv[0]) ? `${argv[0]} ` : '';
  return `${program}: ${message}\nRun \`${program} ${topic}--help\` for usage.\n`;
}

/** A command line that is wrong: the program says why and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError;
}

/** The two requests every program answers alike, whatever its commands. */
export type HelpOrVersion = { readonly kind: 'help'; readonly command?: string } | { readonly kind: 'version' };

/** A program's command line: how it is parsed, what it says of itself, what runs a command. */
export interface CommandLineProgram<C extends { readonly kind: string }> {
  /** First in every message, e.g. `guestbench-agent`. */
  readonly name: string;
  /** Its commands: a refused command line naming one is pointed at that command's help. */
  readonly commands: readonly string[];
  /** Throws UsageError for a wrong command line. */
  readonly parse: (argv: readonly string[]) => C | HelpOrVersion;
  readonly usage: string;
  readonly commandHelp: (command: string) => string;
  readonly versionText: () => string;
  /** Runs a command and returns the exit code. */
  readonly execute: (command: C) => Promise<number>;
  /**
   * Whether a failure's message says all (a user's mistake or a refusal, not a bug): told
   * without a stack. By default every failure is told by its message alone.
   */
  readonly isExpectedFailure?: (err: unknown) => boolean;
}

function isHelpOrVersion(command: { readonly kind: string }): command is HelpOrVersion {
  return command.kind === 'help' || command.kind === 'version';
}

/**
 * Parses `argv` and runs what it asks for. Returns the exit code: 0 or what the command
 * returned; 2 for a wrong command line; 1 for a failure, told on `stderr` in one line
 * (with a stack for an unexpected one).
 */
export async function runCommandLine<C extends { readonly kind: string }>(
  program: CommandLineProgram<C>,
  argv: readonly string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  try {
    const command = program.parse(argv);
    if (!isHelpOrVersion(command)) return await program.execute(command as C);
    if (command.kind === 'version') stdout.write(program.versionText());
    else stdout.write(command.command === undefined ? program.usage : program.commandHelp(command.command));
    return 0;
  } catch (err: unknown) {
    if (isUsageError(err)) {
      stderr.write(usageFailureText(program.name, err.message, argv, program.commands));
      return 2;
    }
    const expected = err instanceof Error && (program.isExpectedFailure?.(err) ?? true);
    stderr.write(`${program.name}: ${expected ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
