// Where pop3 fetch and pop3 watch deliver: a Maildir (--maildir DIR), an mbox file (--mbox
// FILE) or an MDA command (--mda CMD), and where the sync state lives (--state FILE).
//
// Default state: inside the Maildir (pop3-state.json, shared with the Rust MaildirSink); for
// mbox and MDA, $XDG_STATE_HOME/pop3/<user@host>.json (~/.local/state/pop3/...). The journal
// of an unfinished run lies beside the state, and so does its lock.

import os from 'node:os';
import path from 'node:path';

import { usageError } from './errors.js';
import { Maildir } from './maildir.js';
import { Mbox } from './mbox.js';
import { Mda } from './mda.js';
import { DEFAULT_PASSWORD_ENV } from './password.js';

export const DESTINATIONS = ['maildir', 'mbox', 'mda'];

/** Environment variables that hold a secret, never passed on to an MDA. */
export const SECRET_VARS = [DEFAULT_PASSWORD_ENV, 'POP3_WASM_WATCH_SECRET'];

/** Checks that exactly one destination is given. */
export function checkDestination(options, command) {
  const given = DESTINATIONS.filter((k) => options[k] !== undefined);
  if (given.length === 0) throw usageError(`pop3 ${command} needs a destination: --maildir DIR, --mbox FILE or --mda CMD`);
  if (given.length > 1) throw usageError(`pop3 ${command}: choose one of ${given.map((k) => `--${k}`).join(', ')}`);
  return given[0];
}

/** The default state file of an mbox or MDA delivery for `account` (user@host). */
export function defaultStateFile(env, account) {
  const home = env.HOME || os.homedir();
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return path.join(base, 'pop3', `${account.replace(/[^A-Za-z0-9@._+-]/g, '_')}.json`);
}

/** The environment of an MDA: ours without any variable that holds the password. */
function mdaEnv(ctx) {
  const env = { ...ctx.env };
  for (const name of [...SECRET_VARS, ctx.options.passwordEnv]) if (name !== undefined) delete env[name];
  return env;
}

/** Opens the destination of ctx.options for `account` (throws exit 2 or 8 before connecting). */
export function openDelivery(ctx, account, command) {
  const { options } = ctx;
  const kind = checkDestination(options, command);
  if (kind === 'maildir') return new Maildir(options.maildir, { stateFile: options.state });
  const stateFile = options.state ?? defaultStateFile(ctx.env, account);
  if (kind === 'mbox') return new Mbox(options.mbox, { stateFile });
  return new Mda(options.mda, { stateFile, env: mdaEnv(ctx), signal: ctx.signal, log: ctx.log });
}
