// The sync state on disk, for every delivery (Maildir, mbox, MDA): the state file (the
// library's JSON, `String(state)`), its journal beside it, and a lock file.
//
// - each batch of records is appended to the journal and fsynced (client.sync()'s `record`);
// - the whole state is written once per run (tmp file, fsync, rename, fsync of the directory),
//   then the journal is removed (client.sync()'s `saveState`);
// - loadState() reads state and journal strictly (loadSyncState): a corrupt state, one of
//   another account or of a newer version is refused (exit 2), never started over;
// - `STATE.lock` (created with O_EXCL, holding "pid host") keeps two runs from using one state
//   at once: a second `pop3 fetch` (an overlapping cron job) would hand the same messages to an
//   MDA or an mbox twice. A lock whose process is gone (on this host) is stale and taken over.
//
// File operations are synchronous: each step completes before the sync goes on.

import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

import { loadSyncState } from '../node.js';
import { CliError, EXIT, usageError } from './errors.js';

export function localError(message, cause) {
  return new CliError(`${message}: ${cause && cause.message ? cause.message : String(cause)}`, EXIT.LOCAL, { cause });
}

/** fsync of a directory, so that renames into it are on disk. */
export function syncDir(dir) {
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

function readIfExists(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw localError(`cannot read ${file}`, e);
  }
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

export class StateFile {
  #journalFd = null;
  #locked = false;

  /** `stateFile`: where the state lives; `journalFile`: default `STATE.journal`. */
  constructor(stateFile, { journalFile } = {}) {
    this.stateFile = path.resolve(stateFile);
    this.journalFile = journalFile ?? `${this.stateFile}.journal`;
    this.lockFile = `${this.stateFile}.lock`;
    try {
      fs.mkdirSync(path.dirname(this.stateFile), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw localError(`cannot create the directory of the state file ${this.stateFile}`, e);
    }
  }

  /** Takes the lock (exit 10 when another live run holds it). */
  lock() {
    if (this.#locked) return;
    const me = `${process.pid} ${hostname()}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(this.lockFile, 'wx', 0o600);
        fs.writeSync(fd, me);
        fs.closeSync(fd);
        this.#locked = true;
        return;
      } catch (e) {
        if (e.code !== 'EEXIST') throw localError(`cannot create the lock file ${this.lockFile}`, e);
      }
      const held = readIfExists(this.lockFile);
      if (held === null) continue; // released meanwhile
      const [pidText, host] = held.trim().split(/\s+/);
      const pid = Number(pidText);
      const stale = Number.isInteger(pid) && pid > 0 && host === hostname() && !processAlive(pid);
      if (!stale) {
        throw new CliError(`another pop3 run (${Number.isInteger(pid) ? `pid ${pid}` : 'unknown'}${host && host !== hostname() ? ` on ${host}` : ''}) `
          + `is using the state ${this.stateFile}; if none is, remove ${this.lockFile}`, EXIT.BUSY);
      }
      try { fs.unlinkSync(this.lockFile); } catch { /* another run took it over first */ }
    }
    throw new CliError(`cannot take the lock ${this.lockFile}: other runs keep taking it`, EXIT.BUSY);
  }

  /**
   * The sync state (and the journal of a run that did not finish) for `account`, or a new one.
   * A corrupt state, one for another account or from a newer version is a usage error (exit 2).
   */
  loadState(account) {
    const state = readIfExists(this.stateFile);
    const journal = readIfExists(this.journalFile);
    try {
      return loadSyncState(state, journal, account);
    } catch (e) {
      throw usageError(`${this.stateFile}: ${e.message}`);
    }
  }

  /** Appends a batch of records to the journal and fsyncs it (client.sync()'s `record`). */
  record({ journal }) {
    try {
      if (this.#journalFd === null) {
        this.#journalFd = fs.openSync(this.journalFile, 'a', 0o600);
        syncDir(path.dirname(this.journalFile));
      }
      fs.writeSync(this.#journalFd, journal);
      fs.fdatasyncSync(this.#journalFd);
    } catch (e) {
      throw localError(`cannot write the sync journal ${this.journalFile}`, e);
    }
  }

  /** Persists the whole state atomically (readers see the old or the new one), then drops the journal. */
  saveState(state) {
    const dir = path.dirname(this.stateFile);
    const tmp = path.join(dir, `.${path.basename(this.stateFile)}.${process.pid}.tmp`);
    let fd;
    try {
      fd = fs.openSync(tmp, 'w', 0o600);
      fs.writeSync(fd, String(state));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(tmp, this.stateFile);
      syncDir(dir);
    } catch (e) {
      if (fd !== undefined) { try { fs.closeSync(fd); } catch { /* already failing */ } }
      try { fs.unlinkSync(tmp); } catch { /* nothing to clean */ }
      throw localError(`cannot write the sync state ${this.stateFile}`, e);
    }
    if (this.#journalFd !== null) {
      fs.closeSync(this.#journalFd);
      this.#journalFd = null;
    }
    try {
      fs.unlinkSync(this.journalFile);
      syncDir(path.dirname(this.journalFile));
    } catch (e) {
      if (e.code !== 'ENOENT') throw localError(`cannot remove the sync journal ${this.journalFile}`, e);
    }
  }

  /** Closes the journal (at the end of a run, finished or not). */
  closeJournal() {
    if (this.#journalFd !== null) {
      try { fs.closeSync(this.#journalFd); } catch { /* nothing to do */ }
      this.#journalFd = null;
    }
  }

  /** Closes the journal and releases the lock. */
  close() {
    this.closeJournal();
    if (this.#locked) {
      try { fs.unlinkSync(this.lockFile); } catch { /* already gone */ }
      this.#locked = false;
    }
  }
}
