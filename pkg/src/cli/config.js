// The config file: accounts, so that `pop3 fetch` (from cron) fetches every one of them in one
// run, as mpop and fetchmail do.
//
// Where: --config FILE, else $XDG_CONFIG_HOME/pop3/config.toml (~/.config/pop3/config.toml),
// else config.json beside it. TOML (parsed by smol-toml) or JSON (a file ending in .json):
//
//   [defaults]                       # applies to every account; each may override any key
//   tls = "implicit"
//
//   [accounts.work]
//   host = "pop.work.example"
//   user = "alice"
//   password-command = "secret-tool lookup service pop3 user alice"
//   maildir = "~/Mail/work"
//   delete = true
//
// The keys are the long options of the command line, without the dashes, with the same values
// (flags are true or false); see CONFIG_KEYS. A password is never accepted in the file.
// Options given on the command line override the file for every account they apply to; a
// destination (maildir, mbox, mda), a retention (keep, delete, delete-older-than) or a server
// (host/port, ws) replaces the whole group, in an account over [defaults] too.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parse as parseToml } from 'smol-toml';

import { OPTIONS, camel, parseValue as parseOption } from './args.js';
import { usageError } from './errors.js';

/** The options an account may set in the config file. */
export const CONFIG_KEYS = [
  'host', 'port', 'ws', 'tls', 'tls-provider', 'ca', 'server-name',
  'user', 'auth', 'allow-cleartext', 'password-env', 'password-command',
  'timeout', 'connect-timeout',
  'maildir', 'mbox', 'mda', 'state',
  'keep', 'delete', 'delete-older-than', 'limit', 'interval',
];

/** Keys whose value is a path: ~ is expanded, and a relative path is taken from the config file's directory. */
const PATH_KEYS = new Set(['ca', 'maildir', 'mbox', 'state']);

/**
 * Options that go together: one of a group's `set` replaces every option of the group in a
 * lower layer (a port alone is just a port; a host or ws is another server).
 */
const GROUPS = [
  { set: ['maildir', 'mbox', 'mda'], drop: ['maildir', 'mbox', 'mda'] },
  { set: ['keep', 'delete', 'deleteOlderThan'], drop: ['keep', 'delete', 'deleteOlderThan'] },
  { set: ['host', 'ws'], drop: ['host', 'port', 'ws'] },
];

const REFUSED = new Set(['password', 'pass', 'passwd', 'pw']);

/** The default config file: config.toml, else config.json, in $XDG_CONFIG_HOME/pop3. */
export function defaultConfigFile(env) {
  const home = env.HOME || os.homedir();
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  const toml = path.join(base, 'pop3', 'config.toml');
  if (fs.existsSync(toml)) return toml;
  const json = path.join(base, 'pop3', 'config.json');
  return fs.existsSync(json) ? json : toml;
}

function expandPath(value, dir, env) {
  let p = value;
  if (p === '~' || p.startsWith('~/')) p = path.join(env.HOME || os.homedir(), p.slice(1));
  return path.resolve(dir, p);
}

/** One table of the file (defaults or an account) as camelCase options, checked. */
function readTable(table, where, dir, env) {
  if (table === null || typeof table !== 'object' || Array.isArray(table)) throw usageError(`${where} must be a table`);
  const out = {};
  for (const [key, value] of Object.entries(table)) {
    if (REFUSED.has(key.toLowerCase())) {
      throw usageError(`${where}.${key} is refused: a password is never read from the config file; use password-command `
        + "(e.g. password-command = \"secret-tool lookup service pop3 user alice\") or password-env");
    }
    if (!CONFIG_KEYS.includes(key)) {
      throw usageError(`${where}: unknown key ${JSON.stringify(key)}`, `the keys are ${CONFIG_KEYS.join(', ')}`);
    }
    const spec = OPTIONS[key];
    const bad = (what) => usageError(`${where}.${key} must be ${what} (got ${JSON.stringify(value)})`);
    const parseValue = (name, kind, text) => {
      try {
        return parseOption(name, kind, text);
      } catch (e) {
        throw usageError(`${where}.${e.message.replace(/^--/, '')}`);
      }
    };
    let v;
    switch (spec.kind) {
      case 'flag':
        if (typeof value !== 'boolean') throw bad('true or false');
        if (!value) continue; // false: as if not given
        v = true;
        break;
      case 'int':
        if (typeof value !== 'number' && typeof value !== 'bigint') throw bad('a whole number');
        v = parseValue(key, spec, String(value));
        break;
      case 'seconds':
        if (typeof value !== 'number') throw bad('a number of seconds');
        v = parseValue(key, spec, String(value));
        break;
      default:
        if (typeof value !== 'string') throw bad('a string');
        v = parseValue(key, spec, value);
        if (PATH_KEYS.has(key)) v = expandPath(v, dir, env);
    }
    out[camel(key)] = v;
  }
  return out;
}

/** `upper` over `lower`: each group set in `upper` replaces the whole group of `lower`. */
export function overlay(lower, upper) {
  const merged = { ...lower };
  for (const group of GROUPS) {
    if (group.set.some((k) => upper[k] !== undefined)) for (const k of group.drop) delete merged[k];
  }
  for (const [k, v] of Object.entries(upper)) if (v !== undefined) merged[k] = v;
  return merged;
}

/** Reads and checks a config file: { file, defaults, accounts: Map name -> options }. Throws exit 2. */
export function loadConfig(file, env) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read the config file ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  let doc;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (e) {
    throw usageError(`${file}: ${String(e.message).split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw usageError(`${file}: not a table of settings`);
  for (const key of Object.keys(doc)) {
    if (key !== 'defaults' && key !== 'accounts') {
      throw usageError(`${file}: unknown section ${JSON.stringify(key)}`, 'the sections are [defaults] and [accounts.NAME]');
    }
  }
  const dir = path.dirname(path.resolve(file));
  const defaults = doc.defaults === undefined ? {} : readTable(doc.defaults, `${file}: defaults`, dir, env);
  const accounts = new Map();
  const tables = doc.accounts ?? {};
  if (tables === null || typeof tables !== 'object' || Array.isArray(tables)) throw usageError(`${file}: accounts must be a table of accounts`);
  for (const [name, table] of Object.entries(tables)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw usageError(`${file}: account name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-'`);
    accounts.set(name, overlay(defaults, readTable(table, `${file}: accounts.${name}`, dir, env)));
  }
  return { file, accounts };
}

/**
 * The runs a command makes: [{ name, options }]. `name` is the config account (null for a
 * server given on the command line). fetch takes account names as arguments (none: every
 * account of the file, unless --host or --ws is given); the other commands take --account
 * NAME (none: the file's only account). Throws exit 2.
 */
export function selectRuns(parsed, env) {
  const { command, options } = parsed;
  const names = options.account !== undefined ? [options.account] : [];
  if (command === 'fetch') names.push(...parsed.positionals.splice(0));
  const direct = options.host !== undefined || options.ws !== undefined;
  if (names.length === 0 && direct) return [{ name: null, options }];
  const file = options.config ?? defaultConfigFile(env);
  if (options.config === undefined && names.length === 0 && !fs.existsSync(file)) {
    return [{ name: null, options, noConfig: file }];
  }
  const config = loadConfig(file, env);
  const all = [...config.accounts.keys()];
  if (all.length === 0) throw usageError(`${file} has no account ([accounts.NAME])`);
  let chosen;
  if (names.length > 0) {
    for (const n of names) {
      if (!config.accounts.has(n)) throw usageError(`no account ${JSON.stringify(n)} in ${file}`, `its accounts: ${all.join(', ')}`);
    }
    chosen = [...new Set(names)];
  } else if (command === 'fetch') {
    chosen = all;
  } else if (all.length === 1) {
    chosen = all;
  } else {
    throw usageError(`pop3 ${command}: choose an account with --account NAME`, `the accounts in ${file}: ${all.join(', ')}`);
  }
  if (command !== 'fetch' && chosen.length > 1) throw usageError(`pop3 ${command} works on one account at a time`);
  const cli = { ...options };
  delete cli.account;
  delete cli.config;
  return chosen.map((name) => ({ name, options: overlay(config.accounts.get(name), cli) }));
}

