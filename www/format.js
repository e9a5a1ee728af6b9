// Display helpers: addresses, dates, sizes.

/** "Name" or the address, for the list. */
export function senderLabel(addresses) {
  if (!addresses || addresses.length === 0) return '';
  const a = addresses[0];
  return (a.name && a.name.trim()) || a.address || a.group || '';
}

/**
 * "Name <address>, ..." as DOM nodes, the address muted, one `.addr` span each. With
 * `shown`, a longer list shows that many and a button "and N more" that shows the rest.
 */
export function addressNodes(addresses, { shown = Infinity } = {}) {
  const frag = document.createDocumentFragment();
  let group = null;
  const spans = addresses.map((a, i) => {
    const span = document.createElement('span');
    span.className = 'addr';
    if (a.group && a.group !== group) {
      group = a.group;
      span.append(`${i > 0 ? ', ' : ''}${a.group}: `);
    } else if (i > 0) span.append(', ');
    if (a.name && a.address) {
      const email = document.createElement('span');
      email.className = 'addr-email';
      email.textContent = `<${a.address}>`;
      span.append(`${a.name} `, email);
    } else {
      span.append(a.name || a.address || '(no address)');
    }
    return span;
  });
  frag.append(...spans);
  // Collapse only when it hides a few at least: "and 1 more" saves nothing.
  if (spans.length > shown + 2) {
    const rest = spans.slice(shown);
    for (const span of rest) span.hidden = true;
    const more = document.createElement('button');
    more.type = 'button';
    more.className = 'more link';
    more.textContent = `and ${rest.length} more`;
    more.setAttribute('aria-expanded', 'false');
    more.addEventListener('click', () => {
      for (const span of rest) span.hidden = false;
      more.remove();
    });
    frag.append(' ', more);
  }
  return frag;
}

const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const yearFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** Short date for the list: the time today, "Mar 18" this year, else with the year. */
export function shortDate(ms, now = new Date()) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  const d = new Date(ms);
  if (sameDay(d, now)) return timeFmt.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayFmt.format(d);
  return yearFmt.format(d);
}

export function fullDate(iso, raw) {
  if (iso) {
    const ms = Date.parse(iso);
    if (!Number.isNaN(ms)) return fullFmt.format(new Date(ms));
  }
  return raw ? `${raw} (unreadable date)` : '';
}

/**
 * Sizes in binary units (1 MB = 1,048,576 bytes), as mail programs and senders count them: a
 * "5 MB" attachment shows as 5.0 MB. Callers say which size it is (on the server or decoded).
 */
export function humanSize(n) {
  if (n === null || n === undefined) return '';
  const KB = 1024;
  if (n < KB) return `${n} B`;
  if (n < KB ** 2) return `${(n / KB).toFixed(n < 10 * KB ? 1 : 0)} KB`;
  if (n < KB ** 3) return `${(n / KB ** 2).toFixed(1)} MB`;
  return `${(n / KB ** 3).toFixed(1)} GB`;
}
