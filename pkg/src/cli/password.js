// Where the password comes from, in order: the environment variable named by --password-env
// VAR, a command (--password-command CMD, run with sh -c), the environment variable
// POP3_PASSWORD, or a prompt on the terminal without echo. A source named for the account
// comes before the general POP3_PASSWORD (an account of the config file with its own
// password-command must not take another's password from the environment). Never from argv,
// never printed, never written anywhere.

import { spawn } from 'node:child_process';

import { CliError, EXIT, usageError } from './errors.js';
import { PASSWORD_ALTERNATIVES } from './args.js';

export const DEFAULT_PASSWORD_ENV = 'POP3_PASSWORD';

/** Thrown when the user presses Ctrl-C at the prompt. */
export class PromptInterrupted extends CliError {
  constructor() { super('interrupted', EXIT.INTERRUPTED); }
}

/**
 * Resolves the password. `options`: parsed CLI options; `io`: { env, stdin, stderr }.
 */
export async function getPassword(options, { env, stdin, stderr, prompt }) {
  const named = (name) => (typeof env[name] === 'string' && env[name] !== '' ? env[name] : null);
  if (options.passwordEnv !== undefined) {
    const fromEnv = named(options.passwordEnv);
    if (fromEnv !== null) return fromEnv;
    if (options.passwordCommand === undefined) {
      throw usageError(`--password-env ${options.passwordEnv}: that environment variable is not set`);
    }
  }
  if (options.passwordCommand !== undefined) return runPasswordCommand(options.passwordCommand, { env });
  const fromDefault = named(DEFAULT_PASSWORD_ENV);
  if (fromDefault !== null) return fromDefault;
  if (stdin.isTTY && typeof stdin.setRawMode === 'function') return promptPassword(prompt, { input: stdin, output: stderr });
  throw usageError(`no password: standard input is not a terminal, so it cannot be asked for; ${PASSWORD_ALTERNATIVES}`);
}

/**
 * Runs `command` with sh -c; its stdout (without the final newline) is the password. Its
 * stderr goes to ours (a keyring tool may need to say something), stdin stays ours (it may
 * need to ask for an unlock passphrase).
 */
export function runPasswordCommand(command, { env }) {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['inherit', 'pipe', 'inherit'], env });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.once('error', (e) => reject(new CliError(`--password-command could not be run: ${e.message}`, EXIT.AUTH)));
    child.once('close', (code, signal) => {
      const out = Buffer.concat(chunks).toString('utf8');
      chunks.length = 0;
      if (signal) return reject(new CliError(`--password-command was killed by ${signal}`, EXIT.AUTH));
      if (code !== 0) return reject(new CliError(`--password-command failed (exit status ${code})`, EXIT.AUTH));
      const password = out.endsWith('\r\n') ? out.slice(0, -2) : out.endsWith('\n') ? out.slice(0, -1) : out;
      if (password === '') return reject(new CliError('--password-command printed no password', EXIT.AUTH));
      return resolve(password);
    });
  });
}

/**
 * Asks for the password on a terminal with echo off (raw mode): Enter ends it, Backspace
 * deletes, Ctrl-U clears, Ctrl-C interrupts, Ctrl-D on an empty line gives up.
 */
export function promptPassword(prompt, { input, output }) {
  return new Promise((resolve, reject) => {
    let password = '';
    output.write(prompt);
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    const finish = (error) => {
      input.removeListener('data', onData);
      input.setRawMode(Boolean(wasRaw));
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(password);
    };
    const onData = (chunk) => {
      // A terminal escape sequence (arrow keys and such): ignore it whole.
      if (chunk.startsWith('\u001b')) return;
      for (const ch of chunk) {
        switch (ch) {
          case '\r':
          case '\n':
            return finish(null);
          case '\u0003': // Ctrl-C
            return finish(new PromptInterrupted());
          case '\u0004': // Ctrl-D
            if (password === '') return finish(usageError('no password entered'));
            return finish(null);
          case '\u007f':
          case '\b': {
            const chars = [...password];
            chars.pop();
            password = chars.join('');
            break;
          }
          case '\u0015': // Ctrl-U
            password = '';
            break;
          default:
            if (ch.codePointAt(0) >= 0x20) password += ch;
        }
      }
      return undefined;
    };
    input.on('data', onData);
    input.resume();
  });
}
