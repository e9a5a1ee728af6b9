// Command-line parsing. Options may come before or after the command; `--name=value` and
// `--name value` both work; `--` ends the options. No option value is ever echoed back in an
// error for an unknown option (it could be a password typed by mistake).

import { usageError } from './errors.js';

export const COMMANDS = ['capa', 'list', 'fetch', 'show', 'watch'];

const TLS_MODES = ['none', 'implicit', 'starttls'];

/**
 * Every option: its kind, and for command options the commands that take it.
 * kinds: flag, string, int (with min/max), seconds (non-negative number), choice.
 */
export const OPTIONS = {
  host: { kind: 'string' },
  port: { kind: 'int', min: 1, max: 65535 },
  tls: { kind: 'choice', choices: TLS_MODES },
  'tls-provider': { kind: 'choice', choices: ['host', 'wasm'] },
  ca: { kind: 'string' },
  'server-name': { kind: 'string' },
  // Deprecated spelling of --server-name (accepted for one release).
  servername: { kind: 'string', alias: 'server-name' },
  user: { kind: 'string' },
  auth: { kind: 'string' },
  'allow-cleartext': { kind: 'flag' },
  'password-env': { kind: 'string' },
  'password-command': { kind: 'string' },
  timeout: { kind: 'seconds' },
  'connect-timeout': { kind: 'seconds' },
  ws: { kind: 'string' },
  json: { kind: 'flag' },
  quiet: { kind: 'flag' },
  verbose: { kind: 'flag' },
  help: { kind: 'flag' },
  version: { kind: 'flag' },
  config: { kind: 'string' },
  account: { kind: 'string' },
  // Command options.
  login: { kind: 'flag', commands: ['capa'] },
  headers: { kind: 'flag', commands: ['list'] },
  maildir: { kind: 'string', commands: ['fetch', 'watch'] },
  mbox: { kind: 'string', commands: ['fetch', 'watch'] },
  mda: { kind: 'string', commands: ['fetch', 'watch'] },
  state: { kind: 'string', commands: ['fetch', 'watch'] },
  keep: { kind: 'flag', commands: ['fetch', 'watch'] },
  delete: { kind: 'flag', commands: ['fetch', 'watch'] },
  'delete-older-than': { kind: 'int', min: 0, max: 100000, commands: ['fetch', 'watch'] },
  limit: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, commands: ['fetch'] },
  interval: { kind: 'seconds', commands: ['watch'] },
  raw: { kind: 'flag', commands: ['show'] },
};

const SHORT = { h: 'help', V: 'version', q: 'quiet', v: 'verbose' };

/** Options that would put the password on the command line. */
const REFUSED = new Set(['password', 'pass', 'passwd', 'pw']);

export const PASSWORD_REFUSAL = 'a password is never accepted on the command line (other users can see it in the '
  + 'process list, and it stays in your shell history)';
export const PASSWORD_ALTERNATIVES = 'set POP3_PASSWORD (or --password-env VAR), or use --password-command CMD '
  + "(e.g. --password-command 'secret-tool lookup service pop3 user alice')";

export function camel(name) {
  return name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

export function parseValue(name, spec, raw) {
  switch (spec.kind) {
    case 'string':
      if (raw === '') throw usageError(`--${name} needs a non-empty value`);
      return raw;
    case 'int': {
      if (!/^\d+$/.test(raw)) throw usageError(`--${name} must be a whole number (got ${JSON.stringify(raw)})`);
      const n = Number(raw);
      if (n < spec.min || n > spec.max) throw usageError(`--${name} must be from ${spec.min} to ${spec.max} (got ${raw})`);
      return n;
    }
    case 'seconds': {
      if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw)) throw usageError(`--${name} must be a number of seconds (got ${JSON.stringify(raw)})`);
      return Number(raw);
    }
    case 'choice':
      if (!spec.choices.includes(raw)) throw usageError(`--${name} must be one of ${spec.choices.join(', ')} (got ${JSON.stringify(raw)})`);
      return raw;
    default:
      throw new Error(`unknown option kind ${spec.kind}`);
  }
}

/**
 * Parses argv (without node and the script). Returns { command, positionals, options },
 * options keyed in camelCase. Throws a usage CliError on bad input.
 */
export function parseArgs(argv) {
  const options = {};
  const positionals = [];
  const seen = new Map(); // option name -> as written, for per-command checks
  let i = 0;
  let onlyPositionals = false;
  while (i < argv.length) {
    const arg = argv[i++];
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') { onlyPositionals = true; continue; }
    let name;
    let inline;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      // Short flags: -h, -V, -q, -v (and clusters of them such as -qv).
      for (const c of arg.slice(1)) {
        if (!SHORT[c]) throw usageError(`unknown option -${c}`, 'see pop3 --help');
        options[camel(SHORT[c])] = true;
        seen.set(SHORT[c], `-${c}`);
      }
      continue;
    }
    if (REFUSED.has(name.toLowerCase())) throw usageError(`--${name} is refused: ${PASSWORD_REFUSAL}; instead, ${PASSWORD_ALTERNATIVES}, or type it at the prompt`);
    const spec = OPTIONS[name];
    if (!spec) throw usageError(`unknown option --${name}`, 'see pop3 --help');
    const key = camel(spec.alias ?? name);
    if (spec.kind === 'flag') {
      if (inline !== undefined) throw usageError(`--${name} takes no value`);
      options[key] = true;
    } else {
      let raw = inline;
      if (raw === undefined) {
        if (i >= argv.length) throw usageError(`--${name} needs a value`);
        raw = argv[i++];
      }
      options[key] = parseValue(name, spec, raw);
    }
    seen.set(spec.alias ?? name, `--${name}`);
  }
  const command = positionals.length > 0 ? positionals.shift() : null;
  if (command === 'help') {
    // `pop3 help [COMMAND]` is the same as `pop3 [COMMAND] --help`.
    options.help = true;
    return { command: positionals.shift() ?? null, positionals, options, seen };
  }
  return { command, positionals, options, seen };
}

/** Checks that every command option given belongs to `command`. */
export function checkCommandOptions(parsed) {
  const { command, seen } = parsed;
  for (const [name, written] of seen) {
    const spec = OPTIONS[name];
    if (spec && spec.commands && !spec.commands.includes(command)) {
      throw usageError(`${written} only applies to ${spec.commands.map((c) => `pop3 ${c}`).join(', ')}`);
    }
  }
}
