/**
 * The one command-line parser of every moodstream CLI (npm scripts, benches, tools): node:util parseArgs underneath,
 * each option declared once with its one-line description, from which `--help` is written.
 *
 * Exit status, the same for every command: 0 done (and `--help`), 1 the run failed, 2 the command line was wrong
 * (`<command>: <what is wrong>` and `Try '<command> --help'.` on stderr, never a stack trace).
 */
import { parseArgs } from 'node:util';

/** Exit codes shared by every CLI: `process.exit(EXIT.USAGE)` for a command line the user must fix. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

interface OptionBase {
  /** One line: what the option does (the default is printed after it). */
  description: string;
  /** A one-letter alias, e.g. `o` for `-o`. */
  short?: string;
}
export interface StringOption extends OptionBase {
  type: 'string';
  default?: string;
  /** The value's name in the help text (`--out DIR`); `VALUE` when absent. */
  valueName?: string;
  /** Missing → a usage error (exit 2). */
  required?: boolean;
  /** The only accepted values (listed in the help text). */
  choices?: readonly string[];
  multiple?: false;
}
/** Repeatable: `--tag a --tag b` gives `['a', 'b']`. */
export interface StringListOption extends OptionBase {
  type: 'string';
  multiple: true;
  default?: string[];
  valueName?: string;
}
/** A string on the command line, checked and converted: `--epochs x` is a usage error, never NaN. */
export interface NumberOption extends OptionBase {
  type: 'number';
  default?: number;
  valueName?: string;
  required?: boolean;
  integer?: boolean;
  /** Greater than 0. */
  positive?: boolean;
  /** At least 0. */
  nonNegative?: boolean;
}
export interface BooleanOption extends OptionBase {
  type: 'boolean';
  default?: boolean;
}
export type CliOption = StringOption | StringListOption | NumberOption | BooleanOption;
export type CliOptions = Record<string, CliOption>;

export interface CommandSpec<O extends CliOptions = CliOptions> {
  /** As the user types it, without flags: `npm run train`, `node --import tsx bench/x.ts`. An npm command's usage
   *  and hint get the `--` npm needs before the script's own flags. */
  command: string;
  /** One line: what the command does. */
  summary: string;
  /** What follows the command in the usage line(s); `[options]` when absent. */
  usage?: string | readonly string[];
  options: O;
  /** Accept positional arguments, described in the help text (without it a positional is a usage error). */
  positionals?: { valueName: string; description: string };
  /** A family of number flags named by the user, e.g. `--margin-<slice> N` (prefix `margin-`): returned by suffix. */
  prefixed?: { prefix: string; suffixName: string; description: string };
  examples?: readonly string[];
  /** Paragraphs after the options: environment, outputs, caveats. */
  notes?: string;
  /** Replaces the standard exit status line, for a command with more codes (e.g. 130 when stopped). */
  exitStatus?: string;
}

type ValueOf<T extends CliOption> = T extends BooleanOption ? boolean : T extends NumberOption ? number : T extends StringListOption ? string[] : string;
/** Options with a default (or required) are always set; the rest may be undefined. */
export type CliValues<O extends CliOptions> = {
  -readonly [K in keyof O]: O[K] extends { default: unknown } | { required: true } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};
export interface ParsedCommandLine<O extends CliOptions> {
  values: CliValues<O>;
  positionals: string[];
  /** `--<prefix><suffix> N` flags by suffix (empty unless the spec has `prefixed`). */
  prefixed: Record<string, number>;
}
export type ParseOutcome<O extends CliOptions> = ParsedCommandLine<O> | { help: string } | { error: string };

const WIDTH = 100;
const LABEL_COLUMN = 26;

function invocation(spec: CommandSpec<CliOptions>): string {
  // npm hands a script only the arguments after `--` (`npm run train --help` shows npm's own help).
  return spec.command.startsWith('npm ') ? `${spec.command} --` : spec.command;
}

function wrap(text: string, indent: number, first: number): string[] {
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.length > 0 && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = WIDTH - indent;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function optionLabel(name: string, option: CliOption): string {
  const flag = `${option.short === undefined ? '' : `-${option.short}, `}--${name}`;
  if (option.type === 'boolean') return flag;
  return `${flag} ${option.valueName ?? (option.type === 'number' ? 'N' : 'VALUE')}`;
}

function isRequired(option: CliOption): boolean {
  return 'required' in option && option.required === true;
}

function optionText(option: CliOption): string {
  const parts = [option.description];
  if (option.type === 'string' && option.multiple !== true && option.choices !== undefined) parts.push(`(one of: ${option.choices.join(', ')})`);
  if (option.type === 'string' && option.multiple === true) parts.push('(repeatable)');
  if (isRequired(option)) parts.push('(required)');
  const fallback = option.default;
  if (fallback !== undefined && fallback !== false && !(Array.isArray(fallback) && fallback.length === 0)) {
    parts.push(`(default: ${Array.isArray(fallback) ? fallback.join(', ') : String(fallback)})`);
  }
  return parts.join(' ');
}

function entry(label: string, text: string): string {
  const pad = 2 + LABEL_COLUMN;
  const head = `  ${label}`;
  if (head.length >= pad) return [head, ...wrap(text, pad, pad).map((l) => `${' '.repeat(pad)}${l}`)].join('\n');
  const [first, ...rest] = wrap(text, pad, pad);
  return [`${head.padEnd(pad)}${first}`, ...rest.map((l) => `${' '.repeat(pad)}${l}`)].join('\n');
}

/** The `--help` text, built from the spec alone. */
export function formatHelp(spec: CommandSpec<CliOptions>): string {
  const usages = spec.usage === undefined ? ['[options]'] : typeof spec.usage === 'string' ? [spec.usage] : spec.usage;
  const out: string[] = [...wrap(`${spec.command} — ${spec.summary}`, 2, 0).map((l, i) => (i === 0 ? l : `  ${l}`)), ''];
  usages.forEach((u, i) => out.push(`${i === 0 ? 'usage: ' : '       '}${u === '' ? spec.command : `${invocation(spec)} ${u}`}`));
  out.push('');
  if (spec.positionals !== undefined) out.push('arguments:', entry(spec.positionals.valueName, spec.positionals.description), '');
  out.push('options:');
  for (const [name, option] of Object.entries(spec.options)) out.push(entry(optionLabel(name, option), optionText(option)));
  if (spec.prefixed !== undefined) out.push(entry(`--${spec.prefixed.prefix}${spec.prefixed.suffixName} N`, spec.prefixed.description));
  out.push(entry('-h, --help', 'print this help and exit'), '');
  if (spec.examples !== undefined && spec.examples.length > 0) out.push('examples:', ...spec.examples.map((e) => `  ${e}`), '');
  // A plain paragraph of notes is reflowed to the terminal's width; one with indented lines (a table of
  // variables) is the author's layout and kept as written.
  if (spec.notes !== undefined) {
    for (const paragraph of spec.notes.replace(/^\n+/, '').trimEnd().split(/\n\s*\n/)) {
      const lines = paragraph.split('\n');
      out.push(...(lines.every((l) => !/^\s/.test(l)) ? wrap(paragraph, 0, 0) : lines), '');
    }
  }
  out.push(...wrap(spec.exitStatus ?? 'exit status: 0 done, 1 failed, 2 bad command line.', 0, 0));
  return `${out.join('\n')}\n`;
}

function checkNumber(flag: string, raw: string, option: NumberOption): number | string {
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n)) return `${flag} must be a number, got '${raw}'`;
  if (option.integer === true && !Number.isInteger(n)) return `${flag} must be a whole number, got '${raw}'`;
  if (option.positive === true && !(n > 0)) return `${flag} must be greater than 0, got '${raw}'`;
  if (option.nonNegative === true && !(n >= 0)) return `${flag} must be 0 or more, got '${raw}'`;
  return n;
}

/**
 * Parses argv against the spec without side effects: the values, or the help text to print, or what is wrong.
 * `--help`/`-h` anywhere wins over every other problem; a leading `--` (left by some package managers) is ignored.
 */
export function parseCommandLine<const O extends CliOptions>(spec: CommandSpec<O>, argv: readonly string[] = process.argv.slice(2)): ParseOutcome<O> {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  const nodeOptions: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  const byShort = new Map<string, string>();
  for (const [name, option] of Object.entries(spec.options)) {
    nodeOptions[name] = { type: option.type === 'boolean' ? 'boolean' : 'string', ...(option.short === undefined ? {} : { short: option.short }), ...(option.type === 'string' && option.multiple === true ? { multiple: true } : {}) };
    if (option.short !== undefined) byShort.set(option.short, name);
  }
  if (nodeOptions['help'] === undefined) nodeOptions['help'] = { type: 'boolean', ...(byShort.has('h') ? {} : { short: 'h' }) };
  // Non-strict with tokens: every problem is found here and said in our words, not node's.
  const { values: raw, tokens } = parseArgs({ args, options: nodeOptions, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const problems: string[] = [];
  const prefixed: Record<string, number> = {};
  const family = spec.prefixed;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'option' && family !== undefined && spec.options[token.name] === undefined && token.name.startsWith(family.prefix) && token.name.length > family.prefix.length) {
      // Undeclared, so node read it as a boolean: its value is the next word (a positional token) unless inline.
      const next = tokens[i + 1];
      const value = token.value ?? (next?.kind === 'positional' && next.index === token.index + 1 ? next.value : undefined);
      if (token.value === undefined && value !== undefined) i++;
      if (value === undefined) problems.push(`${token.rawName} needs a value`);
      else {
        const n = checkNumber(token.rawName, value, { type: 'number', description: '' });
        if (typeof n === 'string') problems.push(n);
        else prefixed[token.name.slice(family.prefix.length)] = n;
      }
      continue;
    }
    if (token.kind === 'positional') {
      if (spec.positionals === undefined) problems.push(`unexpected argument '${token.value}'`);
      else positionals.push(token.value);
      continue;
    }
    if (token.name === 'help' && spec.options['help'] === undefined) return { help: formatHelp(spec) };
    const option = spec.options[token.name];
    if (option === undefined) {
      problems.push(`unknown option '${token.rawName}'`);
      continue;
    }
    const flag = token.rawName;
    if (option.type === 'boolean') {
      if (token.value !== undefined) problems.push(`${flag} takes no value (got '${token.value}')`);
    } else if (token.value === undefined || (token.inlineValue !== true && token.value.startsWith('-') && !(option.type === 'number' && /^-\d/.test(token.value)))) {
      // `--out --epochs 3` is a forgotten value, not a folder named "--epochs"; `--out=-x` says it on purpose.
      problems.push(`${flag} needs a value${token.value === undefined ? '' : ` (to pass one starting with '-', write ${flag}=${token.value})`}`);
    }
  }
  if (problems.length > 0) return { error: problems[0]! };
  const values: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const given = raw[name];
    if (given === undefined) {
      if (isRequired(option)) return { error: `--${name} is required` };
      values[name] = option.default;
      continue;
    }
    if (option.type === 'number') {
      const n = checkNumber(`--${name}`, String(given), option);
      if (typeof n === 'string') return { error: n };
      values[name] = n;
    } else if (option.type === 'string' && option.multiple !== true && option.choices !== undefined && !option.choices.includes(String(given))) {
      return { error: `--${name} must be one of ${option.choices.join(', ')}, got '${String(given)}'` };
    } else values[name] = given;
  }
  return { values: values as CliValues<O>, positionals, prefixed };
}

/** The usage error's two lines for stderr: what is wrong and where to look. */
export function usageErrorText(spec: CommandSpec<CliOptions>, message: string): string {
  return `${spec.command}: ${message}\nTry '${invocation(spec)} --help'.\n`;
}

/** A problem found after parsing (two flags that clash, a bad date): said like a parse error, exit 2. */
export function exitWithUsageError(spec: CommandSpec<CliOptions>, message: string): never {
  process.stderr.write(usageErrorText(spec, message));
  process.exit(EXIT.USAGE);
}

/** parseCommandLine for a CLI's top level: prints the help (exit 0) or the error (exit 2), else returns the values. */
export function parseCommandLineOrExit<const O extends CliOptions>(spec: CommandSpec<O>, argv: readonly string[] = process.argv.slice(2)): ParsedCommandLine<O> {
  const outcome = parseCommandLine(spec, argv);
  if ('help' in outcome) {
    process.stdout.write(outcome.help);
    process.exit(EXIT.OK);
  }
  if ('error' in outcome) exitWithUsageError(spec, outcome.error);
  return outcome;
}
