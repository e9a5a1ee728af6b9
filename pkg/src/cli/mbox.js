// mbox delivery (mboxrd) for `pop3 fetch --mbox FILE` and `pop3 watch --mbox FILE`.
//
// Each message is staged complete (staging.js: LF line ends, every line matching /^>*From /
// quoted with one more '>'), then appended under the mbox's lock file:
//
//   From <envelope sender> <date, asctime, UTC>\n
//   <the message, quoted>\n          (a message always ends with a newline)
//   \n                               (the empty line that ends every message)
//
// The lock is FILE.lock, created with O_EXCL (the dot-lock mutt, procmail and mail readers
// use), held only while one message is appended; a lock file older than 1024 s (procmail's
// default) is a leftover and removed. The file is fsynced (and its directory, when the file
// was created) before the lock is released and before the message counts as delivered. A
// failed append truncates the file back to where it was. Nothing is ever rewritten.
//
// An mbox cannot tell whether it already holds a message, so it is not idempotent: the sync
// records after every message (recordEvery 1), and after a crash between the append and the
// record that one message is appended again on the next run.

import fs from 'node:fs';
import path from 'node:path';

import { CliError, EXIT } from './errors.js';
import { StagedDestination, envelopeSender } from './staging.js';
import { localError, syncDir } from './state-file.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const STALE_LOCK_MS = 1024 * 1000;

const pad = (n, w = 2, c = '0') => String(n).padStart(w, c);

/** The date of a "From " line: asctime(3) format, in UTC ("Thu Dec  3 11:24:00 2026"). */
export function asctime(d) {
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate(), 2, ' ')} `
    + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class Mbox extends StagedDestination {
  kind = 'mbox';
  #lockTimeoutMs;

  /** `file`: the mbox (created if missing, with its directory); `stateFile`: where the state lives. */
  constructor(file, { stateFile, lockTimeoutMs = 60_000 }) {
    super({ stateFile, quoteFrom: true });
    this.file = path.resolve(file);
    this.lockFile = `${this.file}.lock`;
    this.#lockTimeoutMs = lockTimeoutMs;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      if (fs.existsSync(this.file)) {
        if (!fs.statSync(this.file).isFile()) throw new Error('not a file');
        fs.accessSync(this.file, fs.constants.W_OK);
      }
      fs.accessSync(path.dirname(this.file), fs.constants.W_OK); // for the lock file
    } catch (e) {
      throw localError(`cannot use mbox ${this.file}`, e);
    }
  }

  get where() {
    return this.file;
  }

  async #lock() {
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (;;) {
      try {
        const fd = fs.openSync(this.lockFile, 'wx', 0o644);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        return;
      } catch (e) {
        if (e.code !== 'EEXIST') {
          throw localError(`cannot create the lock file ${this.lockFile} (to deliver to a system mailbox such as /var/mail, use --mda with procmail or maildrop)`, e);
        }
      }
      try {
        if (Date.now() - fs.statSync(this.lockFile).mtimeMs > STALE_LOCK_MS) {
          fs.unlinkSync(this.lockFile);
          continue;
        }
      } catch {
        continue; // gone meanwhile
      }
      if (Date.now() >= deadline) {
        throw new CliError(`the mbox ${this.file} stayed locked by ${this.lockFile} for ${Math.round(this.#lockTimeoutMs / 1000)} s`, EXIT.BUSY);
      }
      await sleep(200);
    }
  }

  #unlock() {
    try { fs.unlinkSync(this.lockFile); } catch { /* already gone */ }
  }

  /** Appends a staged message; resolves once it is on disk. */
  async #append(uid, staged, sender) {
    await this.#lock();
    let fd;
    let start = null;
    try {
      const existed = fs.existsSync(this.file);
      fd = fs.openSync(this.file, 'a+', 0o600);
      start = fs.fstatSync(fd).size;
      let separator = '';
      if (start > 0) {
        const last = Buffer.alloc(2);
        const n = fs.readSync(fd, last, 0, Math.min(2, start), start - Math.min(2, start));
        const tail = last.subarray(0, n);
        if (tail.at(-1) !== 0x0a) separator = '\n\n';
        else if (tail.length === 2 && tail[0] !== 0x0a) separator = '\n';
      }
      const write = (buf) => {
        let off = 0;
        while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      };
      write(Buffer.from(`${separator}From ${sender} ${asctime(new Date())}\n`));
      const src = fs.openSync(staged.file, 'r');
      try {
        const chunk = Buffer.alloc(1024 * 1024);
        for (let pos = 0; ;) {
          const n = fs.readSync(src, chunk, 0, chunk.length, pos);
          if (n === 0) break;
          write(chunk.subarray(0, n));
          pos += n;
        }
      } finally {
        fs.closeSync(src);
      }
      write(Buffer.from('\n'));
      fs.fsyncSync(fd);
      if (!existed) syncDir(path.dirname(this.file));
    } catch (e) {
      if (fd !== undefined && start !== null) {
        try { fs.ftruncateSync(fd, start); fs.fsyncSync(fd); } catch { /* already failing */ }
      }
      throw localError(`cannot append message ${uid} to ${this.file}`, e);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      this.#unlock();
    }
  }

  /** Appends a staged message (StagedDestination's sink calls it). */
  deliver(uid, staged) {
    return this.#append(uid, staged, envelopeSender(staged.head));
  }

  get deliveredFile() {
    return this.file;
  }
}
