// Turns a message's untrusted HTML into the srcdoc of a sandboxed iframe.
//
// Three layers, each enough on its own for scripts:
//  1. the iframe's sandbox has no allow-scripts and no allow-same-origin (an opaque origin), and
//     no allow-forms;
//  2. the srcdoc's first element is a Content-Security-Policy with default-src 'none' and no
//     script-src; remote images, styles and fonts are allowed only after the reader asks;
//  3. this rewrite, done in an inert DOMParser document (it runs no script and loads nothing):
//     it drops scripts, frames, objects, <meta> (refresh), <base>, <link> other than style
//     sheets, event-handler attributes and javascript: links; replaces cid: references with the
//     message's own parts (data: URLs: the opaque-origin frame may not load the page's blob:
//     URLs); and removes remote references (img src/srcset, background attributes, CSS url()
//     and @import, style sheet links, SVG href, media) until remote content is allowed, so
//     the reader can see how many there are.

const REMOTE_URL = /^\s*(https?:)?\/\//i;
const CID_URL = /^\s*cid:/i;
const DATA_IMAGE = /^\s*data:image\/(png|gif|jpe?g|webp|bmp|avif|x-icon|vnd\.microsoft\.icon);/i;
const SAFE_LINK = /^\s*(https?:|mailto:|tel:|#)/i;

const DROP = 'script, iframe, frame, frameset, object, embed, applet, base, meta, portal, template';
const BLANK_CSS_URL = 'url("data:,")';

const DEFAULT_STYLE = `html { color-scheme: light; }
body { margin: 14px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; color: #1d2330; background: #fff; overflow-wrap: anywhere; }
img { max-width: 100%; height: auto; }
img[data-blocked] { outline: 1px dashed #b8bfcc; background: #f1f3f7; }
pre { white-space: pre-wrap; }`;

const RENAMED = 'data-removed-';

/**
 * Renames event-handler attributes (onload=, onerror=...) in the HTML's start tags before it
 * is parsed. Chrome checks the page's CSP as DOMParser creates such an attribute and logs
 * "Executing inline event handler violates ..." for each, although nothing runs: the
 * renamed ones mean nothing and are removed below with the rest. Not a defence, only quiet:
 * a tag this scanner misreads keeps its handler until the removal below.
 */
function renameHandlers(html) {
  let out = '';
  let last = 0;
  const tag = /<[a-zA-Z][^\s/>]*/g;
  for (let m = tag.exec(html); m; m = tag.exec(html)) {
    let i = tag.lastIndex;
    while (i < html.length && html[i] !== '>') {
      if (/[\s/]/.test(html[i])) { i++; continue; }
      const start = i;
      i++; // a name may start with "="
      while (i < html.length && !/[\s/>=]/.test(html[i])) i++;
      if (/^on/i.test(html.slice(start, start + 2))) {
        out += html.slice(last, start) + RENAMED;
        last = start;
      }
      while (i < html.length && /\s/.test(html[i])) i++;
      if (html[i] !== '=') continue;
      i++;
      while (i < html.length && /\s/.test(html[i])) i++;
      const quote = html[i];
      if (quote === '"' || quote === "'") {
        const end = html.indexOf(quote, i + 1);
        i = end < 0 ? html.length : end + 1;
      } else {
        while (i < html.length && !/[\s>]/.test(html[i])) i++;
      }
    }
    tag.lastIndex = i;
  }
  return out + html.slice(last);
}

function csp(allowRemote) {
  const remote = allowRemote ? ' http: https:' : '';
  return `default-src 'none'; img-src data:${remote}; style-src 'unsafe-inline'${remote}; font-src data:${remote}; form-action 'none'`;
}

/**
 * Returns { srcdoc, remoteCount } for `html`. `inline`: { contentId: dataUrl } for cid:
 * references; `allowRemote`: whether remote images and styles may load.
 */
export function prepareHtml(html, { inline = {}, allowRemote = false } = {}) {
  const doc = new DOMParser().parseFromString(renameHandlers(html), 'text/html');
  const remote = new Set();

  const cidLookup = (url) => {
    let id = url.trim().replace(/^cid:/i, '');
    try { id = decodeURIComponent(id); } catch { /* keep it as it is */ }
    return inline[id] ?? inline[id.replace(/^<|>$/g, '')] ?? null;
  };

  /** The value an image-like URL attribute keeps: a data: URL, the remote URL if allowed, or null. */
  const imageUrl = (value) => {
    if (CID_URL.test(value)) return cidLookup(value);
    if (DATA_IMAGE.test(value)) return value;
    if (REMOTE_URL.test(value)) {
      remote.add(value.trim());
      return allowRemote ? value : null;
    }
    return null; // relative or other schemes mean nothing in a mail
  };

  const css = (text) => text
    // @import of a remote sheet: kept only when allowed; any other @import is dropped.
    .replace(/@import\s+(?:url\(\s*)?(['"]?)([^'")\s;]*)\1\s*\)?[^;]*;?/gi, (whole, _q, url) => {
      if (REMOTE_URL.test(url)) {
        remote.add(url.trim());
        if (allowRemote) return whole;
      }
      return '';
    })
    .replace(/url\(\s*(['"]?)(.*?)\1\s*\)/gi, (whole, _q, url) => {
      if (CID_URL.test(url)) {
        const data = cidLookup(url);
        return data ? `url("${data}")` : BLANK_CSS_URL;
      }
      if (/^\s*data:/i.test(url)) return whole;
      if (REMOTE_URL.test(url)) {
        remote.add(url.trim());
        return allowRemote ? whole : BLANK_CSS_URL;
      }
      return BLANK_CSS_URL;
    })
    // @import "https://..." and bare remote strings (image-set("https://...")): CSP blocks them
    // anyway; this counts them and keeps them out of the document when blocked.
    .replace(/(['"])((?:https?:)?\/\/[^'"]*)\1/gi, (whole, _q, url) => {
      remote.add(url.trim());
      return allowRemote ? whole : '""';
    });

  doc.querySelectorAll(DROP).forEach((el) => el.remove());

  doc.querySelectorAll('link').forEach((link) => {
    const rel = (link.getAttribute('rel') || '').toLowerCase().split(/\s+/);
    const href = link.getAttribute('href') || '';
    if (rel.includes('stylesheet') && REMOTE_URL.test(href)) {
      remote.add(href.trim());
      if (allowRemote) {
        for (const a of [...link.attributes]) if (!['rel', 'href', 'media', 'type'].includes(a.name)) link.removeAttribute(a.name);
        return;
      }
    }
    link.remove(); // prefetch, preconnect, dns-prefetch, icons...: never
  });

  doc.querySelectorAll('style').forEach((style) => { style.textContent = css(style.textContent); });

  for (const el of doc.querySelectorAll('*')) {
    for (const attr of [...el.attributes]) {
      const name = attr.name.toLowerCase();
      const value = attr.value;
      if (name.startsWith('on') || name.startsWith(RENAMED) || name === 'ping' || name === 'formaction' || name === 'action'
        || name === 'srcdoc' || name === 'http-equiv' || name === 'autofocus') {
        el.removeAttribute(attr.name);
      } else if (name === 'style') {
        el.setAttribute('style', css(value));
      } else if (name === 'href' || name === 'xlink:href') {
        const tag = el.localName;
        if (tag === 'a' || tag === 'area') {
          if (!SAFE_LINK.test(value)) el.removeAttribute(attr.name);
        } else if (tag === 'link') {
          // kept above only for an allowed remote style sheet
        } else {
          // SVG <image>, <use>, <feImage>...: a fragment is fine, a remote one is an image
          if (/^\s*#/.test(value)) continue;
          const kept = imageUrl(value);
          if (kept === null) el.removeAttribute(attr.name); else attr.value = kept;
        }
      } else if (name === 'src' || name === 'background' || name === 'poster' || name === 'lowsrc'
        || name === 'dynsrc' || name === 'data' || name === 'longdesc') {
        const kept = imageUrl(value);
        if (kept === null) {
          el.removeAttribute(attr.name);
          if (REMOTE_URL.test(value) && el.localName === 'img') el.setAttribute('data-blocked', '');
        } else {
          attr.value = kept;
        }
      } else if (name === 'srcset' || name === 'imagesrcset') {
        const candidates = value.split(',').map((c) => c.trim()).filter(Boolean);
        const kept = [];
        for (const c of candidates) {
          const [url, ...rest] = c.split(/\s+/);
          const ok = imageUrl(url);
          if (ok !== null) kept.push([ok, ...rest].join(' '));
        }
        if (kept.length) attr.value = kept.join(', '); else el.removeAttribute(attr.name);
      }
    }
    if (el.localName === 'a' || el.localName === 'area') {
      if (el.hasAttribute('href')) {
        el.setAttribute('target', '_blank');
        el.setAttribute('rel', 'noopener noreferrer');
      }
    }
  }

  // The policy first, then our defaults (the mail's own styles come after and win).
  const head = doc.head;
  const meta = doc.createElement('meta');
  meta.setAttribute('http-equiv', 'Content-Security-Policy');
  meta.setAttribute('content', csp(allowRemote));
  const referrer = doc.createElement('meta');
  referrer.setAttribute('name', 'referrer');
  referrer.setAttribute('content', 'no-referrer');
  const style = doc.createElement('style');
  style.textContent = DEFAULT_STYLE;
  head.prepend(meta, referrer, style);

  return { srcdoc: `<!DOCTYPE html>${doc.documentElement.outerHTML}`, remoteCount: remote.size };
}
