// Argument parsing for every `fireact` command (node:util parseArgs), with the help text made from
// the same table: a flag a command does not list, or an argument too many, is a usage error (exit 2).
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in the help, e.g. "ID". */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments as the synopsis shows them, e.g. ["<config>"]; "[x]" marks an optional one. */
  args: string[];
  summary: string;
  options: Record<string, OptionSpec>;
  /** More lines for `--help`. */
  notes?: string[];
}

/** A mistake in how the command was called: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

function synopsis(spec: CommandSpec): string {
  const opts = Object.entries(spec.options).map(([k, o]) => (o.type === 'string' ? `[--${k} ${o.value ?? 'VALUE'}]` : `[--${k}]`));
  return ['fireact', spec.name, ...spec.args, ...opts].join(' ');
}

function usageLine(spec: CommandSpec): string {
  return `usage: ${synopsis(spec)}\nrun "fireact ${spec.name} --help" for details`;
}

export function helpText(spec: CommandSpec): string {
  const rows: Array<[string, string]> = Object.entries(spec.options).map(([k, o]) => [o.type === 'string' ? `--${k} ${o.value ?? 'VALUE'}` : `--${k}`, o.help]);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  return [`usage: ${synopsis(spec)}`, '', spec.summary, ...(spec.notes ?? []), '', 'options:', ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`)].join('\n');
}

/** Parses `argv` (after the command name) against the spec; throws UsageError on any mistake. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const options = Object.fromEntries([...Object.entries(spec.options).map(([k, o]) => [k, { type: o.type }] as const), ['help', { type: 'boolean', short: 'h' }] as const]);
  // Not strict: the tokens let us name the mistake ourselves, and accept "--add -5" (a value with a dash).
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const usage = usageLine(spec);
  const fail = (message: string): never => {
    throw new UsageError(`fireact ${spec.name}: ${message}`, usage);
  };
  const values: Parsed['values'] = {};
  const positionals: string[] = [];
  let help = false;
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    if (t.name === 'help' || t.name === 'h') {
      help = true;
      continue;
    }
    const o = spec.options[t.name];
    if (!o) fail(`unknown option ${t.rawName}`);
    if (o.type === 'boolean') {
      if (t.value !== undefined) fail(`${t.rawName} takes no value`);
      values[t.name] = true;
    } else {
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) fail(`${t.rawName} needs a value (${o.value ?? 'VALUE'})`);
      if (values[t.name] !== undefined) fail(`${t.rawName} given twice`);
      values[t.name] = t.value;
    }
  }
  if (help) return { values, positionals, help };
  const required = spec.args.filter((a) => !a.startsWith('['));
  if (positionals.length < required.length) fail(`needs ${required.slice(positionals.length).join(' ')}`);
  if (positionals.length > spec.args.length) fail(`unexpected argument "${positionals[spec.args.length]}"`);
  return { values, positionals, help };
}

export const str = (p: Parsed, name: string): string | undefined => p.values[name] as string | undefined;
export const bool = (p: Parsed, name: string): boolean => p.values[name] === true;
