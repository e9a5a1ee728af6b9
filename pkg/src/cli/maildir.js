// Maildir delivery for `pop3 fetch` and `pop3 watch` (https://cr.yp.to/proto/maildir.html),
// with the naming rule, state format and journal of the Rust `MaildirSink` (called from the
// wasm module, not written again here), so the Rust and JavaScript tools share one Maildir:
//
// - a message's file name comes from its unique id (maildirFileName); it counts as delivered
//   when a file in new/ or cur/ starts with its stem, so saving the same uid twice writes
//   nothing the second time: the sink is idempotent, as the sync engine needs;
// - a message streams into tmp/; the messages of a batch are fsynced together (in parallel,
//   on libuv's thread pool: the file system commits them in fewer journal flushes than one
//   after another) and renamed into new/, and new/ is fsynced, before the batch is recorded;
// - each batch of records is appended to `pop3-state.journal` and fsynced; the state,
//   `pop3-state.json`, is written once per run (tmp file, fsync, rename, fsync of the
//   directory), then the journal is removed (state-file.js; the state may live elsewhere:
//   --state FILE, its journal beside it);
// - files in tmp/ older than 36 hours are leftovers of an interrupted delivery: removed.
//
// Other file operations are synchronous: each step completes before the sync goes on, so no
// later step can overtake an earlier one.

import { hostname } from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

import { maildirHostPart, maildirIsStaleTmp, maildirNames, maildirStem, maildirStemOf } from '../node.js';
import { StateFile, localError, syncDir } from './state-file.js';

const NAMES = maildirNames();

/** The state file inside the Maildir (the same name the Rust MaildirSink uses). */
export const STATE_FILE = NAMES.stateFile;

export class Maildir {
  kind = 'maildir';
  /** Idempotent (names from the uid): records in batches (the sync's default). */
  recordEvery = undefined;
  /** The host part of file names (`stem.host`), by the Rust rule. */
  #host = maildirHostPart((() => {
    try {
      return fs.readFileSync('/proc/sys/kernel/hostname', 'utf8');
    } catch {
      return hostname();
    }
  })());
  /** Stems found in new/ and cur/ (read once per round; see beginRound). */
  #stems = null;
  /** The message being written: { fd, tmp, name, stem }. */
  #current = null;
  /** Messages written completely, not yet fsynced and renamed into new/: { fd, tmp, target }. */
  #pending = [];
  /** The state file, its journal and its lock. */
  #state;

  /**
   * Creates DIR, DIR/tmp, DIR/new and DIR/cur as needed (mode 0700), and removes stale files
   * from tmp/. `stateFile` keeps the state elsewhere (its journal beside it). Throws a
   * CliError (exit 8).
   */
  constructor(dir, { stateFile } = {}) {
    this.dir = path.resolve(dir);
    try {
      for (const sub of ['', 'tmp', 'new', 'cur']) fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o700 });
      for (const sub of ['', 'tmp', 'new']) fs.accessSync(path.join(this.dir, sub), fs.constants.W_OK);
    } catch (e) {
      throw localError(`cannot use Maildir ${this.dir}`, e);
    }
    this.#state = stateFile === undefined
      ? new StateFile(path.join(this.dir, STATE_FILE), { journalFile: path.join(this.dir, NAMES.journalFile) })
      : new StateFile(stateFile);
    this.stateFile = this.#state.stateFile;
    this.journalFile = this.#state.journalFile;
    this.#cleanTmp();
  }

  /** Where messages go, for messages to the user. */
  get where() {
    return this.dir;
  }

  #cleanTmp() {
    const tmp = path.join(this.dir, 'tmp');
    let names;
    try {
      names = fs.readdirSync(tmp);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      try {
        const { mtimeMs } = fs.statSync(path.join(tmp, name));
        if (maildirIsStaleTmp((now - mtimeMs) / 1000)) fs.unlinkSync(path.join(tmp, name));
      } catch {
        // Gone meanwhile, or not ours to remove: leave it.
      }
    }
  }

  /**
   * Takes the state's lock (exit 10 if another run holds it) and loads the sync state (and the
   * journal of a run that did not finish) for `account`, or a new one. A corrupt state, one for
   * another account or from a newer version is a usage error (exit 2): never silently started
   * over, which would download everything again.
   */
  loadState(account) {
    this.#state.lock();
    return this.#state.loadState(account);
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
          const s = maildirStemOf(name);
          if (s) this.#stems.add(s);
        }
      }
    }
    return this.#stems.has(stem);
  }

  /**
   * The streaming sink for client.sync(). `onDelivered({ uid, size, file, existed, head })`
   * is told of each message; with `keepHead`, `head` holds its first bytes (enough for the
   * headers).
   */
  sink(onDelivered = () => {}, { keepHead = false } = {}) {
    let uid = null;
    let size = 0;
    let head = null;
    const tmpDir = `${this.dir}${path.sep}tmp${path.sep}`;
    const newDir = `${this.dir}${path.sep}new${path.sep}`;
    const suffix = `.${this.#host}`;
    return {
      begin: (message) => {
        uid = message.uid;
        size = 0;
        head = null;
        const stem = maildirStem(uid);
        if (this.#delivered(stem)) {
          onDelivered({ uid, size: message.size ?? 0, file: null, existed: true, head: null });
          return false;
        }
        const name = stem + suffix;
        const tmp = `${tmpDir}${name}.${process.pid}`;
        try {
          this.#current = { fd: fs.openSync(tmp, 'w', 0o600), tmp, name, stem };
        } catch (e) {
          throw localError(`cannot save message ${uid} in ${this.dir}`, e);
        }
        return true;
      },
      write: (chunk) => {
        const { fd } = this.#current;
        if (keepHead && head === null) head = Buffer.from(chunk.subarray(0, 64 * 1024));
        try {
          let off = 0;
          while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        } catch (e) {
          throw localError(`cannot save message ${uid} in ${this.dir}`, e);
        }
        size += chunk.length;
      },
      // The message is complete; it becomes durable, and visible in new/, at the next flush,
      // which the sync engine calls before it records anything (a crash before then leaves it
      // in tmp/, unrecorded: the next run fetches it again).
      commit: () => {
        const { fd, tmp, name, stem } = this.#current;
        this.#current = null;
        const target = newDir + name;
        this.#pending.push({ fd, tmp, target });
        this.#stems?.add(stem);
        onDelivered({ uid, size, file: target, existed: false, head });
      },
      abort: () => this.abort(),
      // One message is synced at once, with nothing else in between; several in parallel.
      flush: () => (this.#pending.length > 1 ? this.#flushParallel() : this.#flushNow()),
    };
  }

  /** Makes the pending messages durable in new/, one after another. */
  #flushNow() {
    const batch = this.#pending;
    this.#pending = [];
    try {
      for (const item of batch) fs.fsyncSync(item.fd);
      this.#moveIntoNew(batch);
    } catch (e) {
      discard(batch);
      throw localError(`cannot save messages in ${this.dir}`, e);
    }
  }

  /** Makes the pending messages durable in new/, their fsyncs in parallel. */
  async #flushParallel() {
    const batch = this.#pending;
    this.#pending = [];
    try {
      await Promise.all(batch.map(({ fd }) => fsyncFile(fd)));
      this.#moveIntoNew(batch);
    } catch (e) {
      discard(batch);
      throw localError(`cannot save messages in ${this.dir}`, e);
    }
  }

  /** Closes synced files, renames them into new/ and syncs new/. */
  #moveIntoNew(batch) {
    for (const item of batch) {
      fs.closeSync(item.fd);
      item.fd = null;
      fs.renameSync(item.tmp, item.target);
    }
    if (batch.length > 0) syncDir(path.join(this.dir, 'new'));
  }

  /** Removes the message being written, if any (a failed or interrupted download). */
  abort() {
    const current = this.#current;
    this.#current = null;
    if (current) discard([current]);
  }

  /** Appends a batch of records to the journal and fsyncs it (client.sync()'s `record`). */
  record(batch) {
    this.#state.record(batch);
  }

  /** Persists the whole state atomically, then drops the journal (client.sync()'s `saveState`). */
  saveState(state) {
    this.#state.saveState(state);
  }

  /**
   * Ends a run: removes a half-written message, moves complete ones not flushed yet into new/
   * (a run stopped between a message and its record, by Ctrl-C or a failure: the next run
   * finds them there and records them without a second copy), closes the journal, releases
   * the lock.
   */
  close() {
    this.abort();
    try {
      this.#flushNow();
    } catch { /* discarded: not recorded, so the next run fetches them again */ }
    this.#state.close();
  }
}

/** fsync on libuv's thread pool, so several run at once. */
function fsyncFile(fd) {
  return new Promise((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
}

/** Closes and removes files in tmp/ that will not be delivered. */
function discard(items) {
  for (const item of items) {
    if (item.fd !== null) {
      try { fs.closeSync(item.fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(item.tmp); } catch { /* renamed already, or nothing to clean */ }
  }
}
