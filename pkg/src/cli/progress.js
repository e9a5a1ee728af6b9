// A one-line progress bar on stderr: messages done/total, bytes done/expected, a bar, rate.
// Drawn only when enabled (stderr is a terminal and not --quiet); redrawn at most every 100 ms.

import { formatBytes, truncate } from './format.js';

export class ProgressBar {
  #stream;
  #enabled;
  #label;
  #totalMessages;
  #totalBytes;
  #messages = 0;
  #bytes = 0;
  #partial = 0;
  #lastDraw = 0;
  #start = Date.now();
  #drawn = false;
  #showCount;
  #delayMs;

  /**
   * `totalBytes`: the expected total (sizes from LIST, a hint). `showCount`: show messages
   * done/total. `delayMs`: draw nothing before this much time has passed (no flicker for
   * quick runs).
   */
  constructor({ stream, enabled, label, totalMessages, totalBytes, showCount = true, delayMs = 200 }) {
    this.#showCount = showCount;
    this.#delayMs = delayMs;
    this.#stream = stream;
    this.#enabled = Boolean(enabled);
    this.#label = label;
    this.#totalMessages = totalMessages;
    this.#totalBytes = totalBytes;
  }

  /** A message finished, with this many bytes. */
  message(bytes) {
    this.#messages += 1;
    this.#bytes += bytes;
    this.#partial = 0;
    this.#draw();
  }

  /** Bytes received so far of the message in progress. */
  partial(bytes) {
    this.#partial = bytes;
    this.#draw();
  }

  /** Removes the bar (the summary follows on stdout). */
  done() {
    if (!this.#enabled || !this.#drawn) return;
    this.#stream.write('\r\u001b[K');
    this.#drawn = false;
  }

  #draw() {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#start < this.#delayMs) return;
    if (now - this.#lastDraw < 100 && this.#messages < this.#totalMessages) return;
    this.#lastDraw = now;
    const bytes = this.#bytes + this.#partial;
    const total = this.#totalBytes;
    const fraction = total > 0 ? Math.min(1, bytes / total) : (this.#totalMessages > 0 ? this.#messages / this.#totalMessages : 1);
    const seconds = (now - this.#start) / 1000;
    const rate = seconds > 0.2 ? ` ${formatBytes(Math.round(bytes / seconds))}/s` : '';
    const left = this.#showCount ? `${this.#label} ${this.#messages}/${this.#totalMessages} msgs` : this.#label;
    const right = `${formatBytes(bytes)} / ${total > 0 ? formatBytes(total) : '?'} ${String(Math.floor(fraction * 100)).padStart(3)}%${rate}`;
    const columns = this.#stream.columns || 80;
    const barWidth = Math.max(10, Math.min(40, columns - left.length - right.length - 6));
    const filled = Math.round(fraction * barWidth);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
    const line = truncate(`${left} ${bar} ${right}`, columns - 1);
    this.#stream.write(`\r${line}\u001b[K`);
    this.#drawn = true;
  }
}
