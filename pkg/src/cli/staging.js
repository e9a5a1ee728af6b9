// Staging for the deliveries that are not idempotent (mbox, MDA): a message streams into a
// private temporary file, converted to what local mail tools expect (LF line ends; for mbox
// also mboxrd quoting), and is handed over only once it is complete. So an mbox never gets a
// half message from a download that failed, and an MDA never reads a truncated one.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parseMessage } from '../node.js';
import { localError, StateFile } from './state-file.js';

const LF = 0x0a;
const CR = 0x0d;
const GT = 0x3e;
const FROM_ = Buffer.from('From ');
/** Longest run of '>' kept back at the start of a line while deciding whether it needs quoting. */
const MAX_PENDING = 64 * 1024;

/**
 * A streaming conversion of a message as retrieved (CRLF line ends, dot-unstuffed): every
 * CRLF becomes LF (a lone CR stays), and with `quoteFrom` every line matching /^>*From / gets
 * one more '>' in front (mboxrd: readers remove one, so "From " lines of the body cannot start
 * a new message, and ">From " lines come back as they were). Chunk boundaries may fall
 * anywhere, also inside a CRLF or a "From ".
 */
export class LineConverter {
  #quoteFrom;
  #heldCR = false;
  #atLineStart = true;
  /** Bytes at the start of a line that may still turn out to be />*From /. */
  #pending = [];

  constructor({ quoteFrom }) {
    this.#quoteFrom = quoteFrom;
  }

  /** Converts `chunk`; returns the bytes to write (an array of Buffers). */
  push(chunk) {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // CRLF -> LF, a CR at the end of a chunk held until the next byte is known.
    const parts = [];
    if (this.#heldCR) {
      this.#heldCR = false;
      if (buf.length > 0 && buf[0] !== LF) parts.push(Buffer.from([CR]));
    }
    if (buf.length > 0 && buf[buf.length - 1] === CR) {
      this.#heldCR = true;
      buf = buf.subarray(0, buf.length - 1);
    }
    let start = 0;
    for (let i = buf.indexOf(CR); i >= 0; i = buf.indexOf(CR, i + 1)) {
      if (buf[i + 1] === LF) {
        parts.push(buf.subarray(start, i));
        start = i + 1;
      }
    }
    parts.push(buf.subarray(start));
    const out = [];
    for (const p of parts) this.#quote(p, out);
    return out;
  }

  /** The end of the message: what is still held back. */
  end() {
    const out = [];
    if (this.#heldCR) {
      this.#heldCR = false;
      this.#quote(Buffer.from([CR]), out);
    }
    if (this.#pending.length > 0) {
      out.push(Buffer.from(this.#pending));
      this.#pending = [];
    }
    this.#atLineStart = true;
    return out;
  }

  #quote(buf, out) {
    if (!this.#quoteFrom) {
      if (buf.length > 0) out.push(buf);
      return;
    }
    let i = 0;
    while (i < buf.length) {
      if (!this.#atLineStart) {
        const nl = buf.indexOf(LF, i);
        if (nl < 0) {
          out.push(buf.subarray(i));
          return;
        }
        out.push(buf.subarray(i, nl + 1));
        i = nl + 1;
        this.#atLineStart = true;
        continue;
      }
      // At the start of a line: collect bytes while they may still be />*From /.
      const b = buf[i++];
      this.#pending.push(b);
      const p = this.#pending;
      let gts = 0;
      while (gts < p.length && p[gts] === GT) gts++;
      const rest = p.length - gts;
      let possible = rest <= FROM_.length;
      for (let k = 0; possible && k < rest; k++) possible = p[gts + k] === FROM_[k];
      if (possible && rest === FROM_.length) {
        out.push(Buffer.from([GT]), Buffer.from(p));
        this.#pending = [];
        this.#atLineStart = false;
      } else if (!possible || p.length >= MAX_PENDING) {
        out.push(Buffer.from(p));
        this.#pending = [];
        this.#atLineStart = b === LF;
      }
    }
  }
}

/** The header section of `head` (bytes up to the first empty line), as latin1 text. */
function headerText(head) {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end >= 0 ? text.slice(0, end) : text;
}

const ADDRESS = /^[\x21-\x7e]+$/;

/**
 * The envelope sender for an mbox "From " line or an MDA's %F: the Return-Path, else the
 * first From address, else MAILER-DAEMON (POP3 has no envelope; the Return-Path is what the
 * final MTA recorded). Only printable ASCII without spaces.
 */
export function envelopeSender(head) {
  if (!head || head.length === 0) return 'MAILER-DAEMON';
  const unfolded = headerText(head).replace(/\r?\n[ \t]+/g, ' ');
  const rp = /^return-path:[ \t]*<([^>]*)>/im.exec(unfolded);
  if (rp) return rp[1] !== '' && ADDRESS.test(rp[1]) ? rp[1] : 'MAILER-DAEMON';
  try {
    const from = parseMessage(Buffer.concat([Buffer.from(headerText(head), 'latin1'), Buffer.from('\r\n\r\n')])).from;
    const address = from.find((a) => a.address)?.address;
    if (address && ADDRESS.test(address)) return address;
  } catch {
    // Unreadable headers: no sender.
  }
  return 'MAILER-DAEMON';
}

/**
 * Stages one message at a time in a private temporary directory (mode 0700, removed by
 * close()). begin(uid), write(chunk)..., finish() -> { file, size, head }; discard().
 */
export class Stage {
  #dir = null;
  #quoteFrom;
  #current = null;
  #count = 0;

  constructor({ quoteFrom }) {
    this.#quoteFrom = quoteFrom;
  }

  begin(uid) {
    this.discard();
    try {
      this.#dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-stage-'));
      const file = path.join(this.#dir, `message-${++this.#count}`);
      this.#current = { uid, file, fd: fs.openSync(file, 'w+', 0o600), size: 0, head: [], headBytes: 0, converter: new LineConverter({ quoteFrom: this.#quoteFrom }) };
    } catch (e) {
      throw localError(`cannot stage message ${uid} in ${this.#dir ?? os.tmpdir()}`, e);
    }
  }

  #writeAll(buffers) {
    const c = this.#current;
    for (const b of buffers) {
      let off = 0;
      while (off < b.length) off += fs.writeSync(c.fd, b, off, b.length - off);
      c.size += b.length;
    }
  }

  write(chunk) {
    const c = this.#current;
    if (c.headBytes < 64 * 1024) {
      const take = chunk.subarray(0, 64 * 1024 - c.headBytes);
      c.head.push(Buffer.from(take));
      c.headBytes += take.length;
    }
    try {
      this.#writeAll(c.converter.push(chunk));
    } catch (e) {
      throw localError(`cannot stage message ${c.uid} in ${this.#dir}`, e);
    }
  }

  /** The message is complete: its staged file (LF line ends, ending in a newline), size and first bytes. */
  finish() {
    const c = this.#current;
    try {
      const tail = c.converter.end();
      this.#writeAll(tail);
      // A message always ends with a line end when it came through POP3; make sure of it.
      let last = tail.length > 0 ? tail[tail.length - 1].at(-1) : undefined;
      if (last === undefined && c.size > 0) {
        const b = Buffer.alloc(1);
        fs.readSync(c.fd, b, 0, 1, c.size - 1);
        [last] = b;
      }
      if (c.size > 0 && last !== LF) this.#writeAll([Buffer.from('\n')]);
      fs.closeSync(c.fd);
      c.fd = null;
    } catch (e) {
      throw localError(`cannot stage message ${c.uid} in ${this.#dir}`, e);
    }
    return { file: c.file, size: c.size, head: Buffer.concat(c.head) };
  }

  /** Removes the staged message (delivered, failed or interrupted). */
  discard() {
    const c = this.#current;
    this.#current = null;
    if (!c) return;
    if (c.fd !== null) { try { fs.closeSync(c.fd); } catch { /* already failing */ } }
    try { fs.unlinkSync(c.file); } catch { /* nothing to clean */ }
  }

  /** Removes the staging directory. */
  close() {
    this.discard();
    if (this.#dir) {
      fs.rmSync(this.#dir, { recursive: true, force: true });
      this.#dir = null;
    }
  }
}

/**
 * What the mbox and MDA destinations share: a message is staged (see Stage), then handed to
 * the subclass's `deliver(uid, staged)`, which resolves once it is delivered; the state is
 * recorded after every message, since neither destination can tell a message it already has.
 */
export class StagedDestination {
  /** Not idempotent: record after every message. */
  recordEvery = 1;
  #stage;
  #state;

  /** `stateFile`: where the state lives; `quoteFrom`: mboxrd quoting while staging. */
  constructor({ stateFile, quoteFrom }) {
    this.#stage = new Stage({ quoteFrom });
    this.#state = new StateFile(stateFile);
    this.stateFile = this.#state.stateFile;
  }

  /** The file `onDelivered` names for a delivered message (null: none). */
  get deliveredFile() {
    return null;
  }

  loadState(account) {
    this.#state.lock();
    return this.#state.loadState(account);
  }

  beginRound() {}

  /** The streaming sink for client.sync(); `onDelivered({ uid, size, file, existed, head })`. */
  sink(onDelivered = () => {}) {
    let uid = null;
    let size = 0;
    return {
      begin: (message) => {
        uid = message.uid;
        size = 0;
        this.#stage.begin(uid);
        return true;
      },
      write: (chunk) => {
        this.#stage.write(chunk);
        size += chunk.length;
      },
      commit: async () => {
        const staged = this.#stage.finish();
        try {
          await this.deliver(uid, staged);
        } finally {
          this.#stage.discard();
        }
        onDelivered({ uid, size, file: this.deliveredFile, existed: false, head: staged.head });
      },
      abort: () => this.#stage.discard(),
    };
  }

  record(batch) {
    this.#state.record(batch);
  }

  saveState(state) {
    this.#state.saveState(state);
  }

  close() {
    this.#stage.close();
    this.#state.close();
  }
}
