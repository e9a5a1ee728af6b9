// Maildir delivery for `pop3 fetch` and `pop3 watch` (https://cr.yp.to/proto/maildir.html),
// compatible with the Rust `MaildirSink` (src/native.rs), so the Rust and JavaScript tools can
// share one Maildir:
//
// - a message's file name comes from its unique id: `pop3-` + the lower-case hex of the first
//   12 bytes of SHA-256(uid), then `.` + the host name. A message counts as delivered when any
//   file in new/ or cur/ starts with that stem (a reader that moved it to cur/ and appended
//   flags included), so saving the same uid twice writes nothing the second time: the sink is
//   idempotent, as the sync engine needs;
// - a message is written to tmp/, fsynced, renamed into new/, and new/ is fsynced;
// - the sync state is `pop3-state.json` in the Maildir's root, written the same way (tmp/,
//   fsync, rename, fsync of the directory).
//
// Synchronous on purpose: a delivery runs to completion between two events, so Ctrl-C can
// never leave a half-written file behind in new/ (or a half-written state).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { checkSyncState, newSyncState } from '../node.js';
import { CliError, EXIT, usageError } from './errors.js';

/** The state file inside the Maildir (the same name the Rust MaildirSink uses). */
export const STATE_FILE = 'pop3-state.json';

/** The host part of a file name, as the Rust sink makes it: "/" and ":" become "_". */
function maildirHost() {
  let host;
  try {
    host = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    host = 'localhost';
  }
  return host.replace(/[/:]/g, '_');
}

/** The file-name stem for a unique id: `pop3-` + 24 hex digits (12 bytes of SHA-256). */
export function stemFor(uid) {
  return `pop3-${createHash('sha256').update(uid, 'utf8').digest('hex').slice(0, 24)}`;
}

const STEM = /^pop3-[0-9a-f]{24}/;

function localError(message, cause) {
  return new CliError(`${message}: ${cause && cause.message ? cause.message : String(cause)}`, EXIT.LOCAL, { cause });
}

/** fsync of a directory, so that renames into it are on disk. */
function syncDir(dir) {
  let fd;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    // Some platforms cannot fsync a directory (EISDIR, EINVAL, EPERM); the files themselves were.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(e.code)) throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export class Maildir {
  #host = maildirHost();
  /** Stems found in new/ and cur/ (read once per round; see beginRound). */
  #stems = null;

  /** Creates DIR, DIR/tmp, DIR/new and DIR/cur as needed (mode 0700). Throws a CliError (exit 8). */
  constructor(dir) {
    this.dir = path.resolve(dir);
    this.stateFile = path.join(this.dir, STATE_FILE);
    try {
      for (const sub of ['', 'tmp', 'new', 'cur']) fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o700 });
      for (const sub of ['', 'tmp', 'new']) fs.accessSync(path.join(this.dir, sub), fs.constants.W_OK);
    } catch (e) {
      throw localError(`cannot use Maildir ${this.dir}`, e);
    }
  }

  /**
   * Loads the sync state for `account`, or a new one when there is none. A corrupt state, one
   * for another account or from a newer version is a usage error (exit 2): never silently
   * started over, which would download everything again.
   */
  loadState(account) {
    let text;
    try {
      text = fs.readFileSync(this.stateFile, 'utf8');
    } catch (e) {
      if (e.code === 'ENOENT') return newSyncState(account);
      throw localError(`cannot read the sync state ${this.stateFile}`, e);
    }
    try {
      return checkSyncState(text, account);
    } catch (e) {
      throw usageError(`${this.stateFile}: ${e.message}`);
    }
  }

  /** Forgets what was seen in new/ and cur/ (call before each sync run). */
  beginRound() {
    this.#stems = null;
  }

  #delivered(stem) {
    if (this.#stems === null) {
      this.#stems = new Set();
      for (const sub of ['new', 'cur']) {
        let names;
        try {
          names = fs.readdirSync(path.join(this.dir, sub));
        } catch (e) {
          throw localError(`cannot read ${path.join(this.dir, sub)}`, e);
        }
        for (const name of names) {
          const m = STEM.exec(name);
          if (m) this.#stems.add(m[0]);
        }
      }
    }
    return this.#stems.has(stem);
  }

  /** Writes `data` to `dir/name` through tmp/, fsync and a rename, then fsyncs `dir`. */
  #writeAtomically(name, data, dir, what) {
    const tmpPath = path.join(this.dir, 'tmp', `${name}.${process.pid}`);
    let fd;
    try {
      fd = fs.openSync(tmpPath, 'w', 0o600);
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      const target = path.join(dir, name);
      fs.renameSync(tmpPath, target);
      syncDir(dir);
      return target;
    } catch (e) {
      if (fd !== undefined) { try { fs.closeSync(fd); } catch { /* already failing */ } }
      try { fs.unlinkSync(tmpPath); } catch { /* nothing to clean */ }
      throw localError(`cannot ${what} in ${this.dir}`, e);
    }
  }

  /**
   * Saves one message (idempotent per uid). Returns { file, existed }: the path in new/, or
   * the stem when an earlier copy (in new/ or cur/) was found and nothing was written.
   * Throws a CliError (exit 8) when the write fails; nothing is then left in tmp/.
   */
  save(uid, bytes) {
    const stem = stemFor(uid);
    if (this.#delivered(stem)) return { file: null, stem, existed: true };
    const file = this.#writeAtomically(`${stem}.${this.#host}`, bytes, path.join(this.dir, 'new'), `save message ${uid}`);
    this.#stems.add(stem);
    return { file, stem, existed: false };
  }

  /** Persists the sync state atomically (readers see the old or the new one, never a mix). */
  saveState(state) {
    this.#writeAtomically(STATE_FILE, Buffer.from(`${JSON.stringify(state, null, 2)}\n`, 'utf8'), this.dir, 'write the sync state');
  }
}
