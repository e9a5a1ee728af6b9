// Small formatting helpers: sizes, durations, terminal-safe text and display widths.

/** 1536 -> "1.5 KiB". */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(ms) {
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

// C0 and C1 controls (ESC starts terminal escape sequences), DEL, and the bidirectional
// overrides that can make text display in another order than it is stored.
const CONTROLS_LINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text from a message or server, made safe for one line of terminal output. */
export function sanitizeLine(s) {
  if (s === null || s === undefined) return '';
  return String(s).replace(/\r\n|[\r\n\t]/g, ' ').replace(CONTROLS_LINE, '\uFFFD');
}

/** A body text made safe for the terminal: LF line ends, tabs kept, other controls replaced. */
export function sanitizeText(s) {
  if (s === null || s === undefined) return '';
  return String(s).replace(/\r\n?/g, '\n').replace(CONTROLS_TEXT, '\uFFFD');
}

/** Rough terminal width of a code point: East Asian wide and emoji count 2. */
function charWidth(cp) {
  if (cp < 0x1100) return 1;
  if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3)
    || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60)
    || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)
    || (cp >= 0x2600 && cp <= 0x27bf)) return 2;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0x200d) return 0;
  return 1;
}

export function displayWidth(s) {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0));
  return w;
}

/** Cuts `s` to at most `width` columns, ending with "…" when cut. */
export function truncate(s, width) {
  if (width <= 0) return '';
  if (displayWidth(s) <= width) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0));
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

export function padEnd(s, width) {
  const w = displayWidth(s);
  return w >= width ? s : s + ' '.repeat(width - w);
}

export function padStart(s, width) {
  const w = displayWidth(s);
  return w >= width ? s : ' '.repeat(width - w) + s;
}

/** "Name <addr>" for a list of parsed addresses. */
export function formatAddresses(list) {
  if (!Array.isArray(list) || list.length === 0) return '';
  return list.map((a) => {
    if (a.name && a.address) return `${a.name} <${a.address}>`;
    return a.address || a.name || '';
  }).filter(Boolean).join(', ');
}

/** A short sender for tables: the display name, else the address. */
export function shortAddress(list) {
  if (!Array.isArray(list) || list.length === 0) return '';
  const a = list[0];
  return a.name || a.address || '';
}
