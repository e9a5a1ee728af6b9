// MDA delivery for `pop3 fetch --mda CMD` and `pop3 watch --mda CMD`: each message is handed to
// a mail delivery agent (procmail, maildrop, `sendmail -oi alice`, a script of yours) on its
// standard input, as fetchmail and mpop do.
//
// - The message is staged complete first (staging.js, LF line ends, no "From " line), then CMD
//   runs with /bin/sh -c, its standard input the staged file: an MDA never reads a truncated
//   message, whatever happens to the download.
// - `%F` in CMD is replaced by the envelope sender (the Return-Path, else the From address,
//   else MAILER-DAEMON), quoted for the shell.
// - The message counts as delivered only when CMD exits with status 0. Any other status, or a
//   signal, fails the run (exit 9) with what CMD printed; the session ends without QUIT, so
//   nothing is deleted on the server, and the next run hands the message over again.
// - CMD's environment is ours without the password variables. Its output is shown with -v.
//
// An MDA cannot be asked whether it already delivered a message, so the sync records after
// every message (recordEvery 1): after a crash between the MDA's exit and the record, that one
// message is handed over again on the next run.

import { spawn } from 'node:child_process';
import fs from 'node:fs';

import { CliError, EXIT } from './errors.js';
import { sanitizeLine } from './format.js';
import { StagedDestination, envelopeSender } from './staging.js';
import { localError } from './state-file.js';

/** `s` quoted for sh. */
export function shellQuote(s) {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

const KEEP = 4096;

export class Mda extends StagedDestination {
  kind = 'mda';
  #env;
  #signal;
  #log;

  /**
   * `command`: run with sh -c per message; `env`: its environment (without secrets);
   * `signal`: aborts a running MDA (SIGTERM); `log(line)`: its output, with -v.
   */
  constructor(command, { stateFile, env, signal, log = () => {} }) {
    super({ stateFile, quoteFrom: false });
    this.command = command;
    this.#env = env;
    this.#signal = signal;
    this.#log = log;
  }

  get where() {
    return `the MDA ${JSON.stringify(this.command)}`;
  }

  /** Runs the MDA on a staged message; resolves when it exited 0 (StagedDestination's sink calls it). */
  deliver(uid, staged) {
    const command = this.command.replace(/%F/g, () => shellQuote(envelopeSender(staged.head)));
    return new Promise((resolve, reject) => {
      let input;
      try {
        input = fs.openSync(staged.file, 'r');
      } catch (e) {
        reject(localError(`cannot read the staged message ${uid}`, e));
        return;
      }
      let child;
      try {
        child = spawn('/bin/sh', ['-c', command], { stdio: [input, 'pipe', 'pipe'], env: this.#env });
      } finally {
        fs.closeSync(input);
      }
      let output = '';
      const keep = (d) => {
        output = (output + d.toString('utf8')).slice(-KEEP);
        for (const line of d.toString('utf8').split('\n')) if (line.trim() !== '') this.#log(`mda: ${sanitizeLine(line)}`);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const onAbort = () => child.kill('SIGTERM');
      this.#signal?.addEventListener('abort', onAbort, { once: true });
      child.once('error', (e) => {
        this.#signal?.removeEventListener('abort', onAbort);
        reject(new CliError(`the MDA could not be run: ${e.message}`, EXIT.MDA, { cause: e }));
      });
      child.once('close', (code, signal) => {
        this.#signal?.removeEventListener('abort', onAbort);
        if (code === 0) {
          resolve();
          return;
        }
        const said = output.trim().split('\n').filter((l) => l.trim() !== '').slice(-3).map((l) => sanitizeLine(l)).join(' / ');
        const how = signal ? `was killed by ${signal}` : `failed with exit status ${code}`;
        reject(new CliError(`the MDA ${how} for message ${uid}, which was not delivered${said ? `; it said: ${said}` : ''}`, EXIT.MDA));
      });
    });
  }
}
