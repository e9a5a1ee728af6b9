// Maildir delivery (https://cr.yp.to/proto/maildir.html): write to tmp/ under a unique name,
// fsync, then rename into new/. Synchronous on purpose: a delivery runs to completion between
// two events, so Ctrl-C can never leave a half-written file behind in new/.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CliError, EXIT } from './errors.js';

/** The host part of a Maildir name: "/" and ":" are not allowed in it. */
function maildirHost() {
  return (os.hostname() || 'localhost').replace(/\//g, '\\057').replace(/:/g, '\\072');
}

function localError(message, cause) {
  return new CliError(`${message}: ${cause && cause.message ? cause.message : String(cause)}`, EXIT.LOCAL, { cause });
}

export class Maildir {
  #seq = 0;
  #host = maildirHost();

  /** Creates DIR, DIR/tmp, DIR/new and DIR/cur as needed (mode 0700). */
  constructor(dir) {
    this.dir = path.resolve(dir);
    try {
      for (const sub of ['', 'tmp', 'new', 'cur']) fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o700 });
      fs.accessSync(path.join(this.dir, 'tmp'), fs.constants.W_OK);
      fs.accessSync(path.join(this.dir, 'new'), fs.constants.W_OK);
    } catch (e) {
      throw localError(`cannot use Maildir ${this.dir}`, e);
    }
  }

  /** A name no other delivery uses: seconds.M<microseconds>P<pid>Q<count>.host. */
  #uniqueName() {
    const ms = performance.timeOrigin + performance.now();
    const micros = Math.floor(ms * 1000) % 1000000;
    this.#seq += 1;
    return `${Math.floor(ms / 1000)}.M${micros}P${process.pid}Q${this.#seq}.${this.#host}`;
  }

  /**
   * Delivers `bytes` as one message; returns the path in new/. Throws a CliError (exit 8) if
   * anything fails; the file in tmp/ is then removed.
   */
  deliver(bytes) {
    let name;
    let tmpPath;
    let fd;
    // O_EXCL: never overwrite; on the (unlikely) clash pick the next name.
    for (let attempt = 0; ; attempt++) {
      name = this.#uniqueName();
      tmpPath = path.join(this.dir, 'tmp', name);
      try {
        fd = fs.openSync(tmpPath, 'wx', 0o600);
        break;
      } catch (e) {
        if (e.code === 'EEXIST' && attempt < 10) continue;
        throw localError(`cannot create ${tmpPath}`, e);
      }
    }
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      const newPath = path.join(this.dir, 'new', name);
      if (fs.existsSync(newPath)) throw Object.assign(new Error('file exists'), { code: 'EEXIST' });
      fs.renameSync(tmpPath, newPath);
      return newPath;
    } catch (e) {
      if (fd !== undefined) { try { fs.closeSync(fd); } catch { /* already failing */ } }
      try { fs.unlinkSync(tmpPath); } catch { /* nothing to clean */ }
      throw localError(`cannot deliver into ${this.dir}`, e);
    }
  }

  /** Flushes new/ itself, so that the renames are on disk (before messages are deleted on the server). */
  syncNew() {
    let fd;
    try {
      fd = fs.openSync(path.join(this.dir, 'new'), 'r');
      fs.fsyncSync(fd);
    } catch (e) {
      // Some platforms cannot fsync a directory (EISDIR, EINVAL, EPERM); the files themselves were.
      if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(e.code)) throw localError(`cannot sync ${this.dir}/new`, e);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
}
