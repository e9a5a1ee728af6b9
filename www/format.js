// Display helpers: addresses, dates, sizes.

/** "Name" or the address, for the list. */
export function senderLabel(addresses) {
  if (!addresses || addresses.length === 0) return '';
  const a = addresses[0];
  return (a.name && a.name.trim()) || a.address || a.group || '';
}

/** "Name <address>, ..." as DOM nodes (the address muted). */
export function addressNodes(addresses) {
  const frag = document.createDocumentFragment();
  let group = null;
  addresses.forEach((a, i) => {
    if (a.group && a.group !== group) {
      group = a.group;
      frag.append(`${a.group}: `);
    }
    if (i > 0) frag.append(', ');
    if (a.name && a.address) {
      frag.append(`${a.name} `);
      const span = document.createElement('span');
      span.className = 'addr-email';
      span.textContent = `<${a.address}>`;
      frag.append(span);
    } else {
      frag.append(a.name || a.address || '(no address)');
    }
  });
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

export function humanSize(n) {
  if (n === null || n === undefined) return '';
  if (n < 1000) return `${n} B`;
  if (n < 1000 * 1000) return `${(n / 1000).toFixed(n < 10000 ? 1 : 0)} KB`;
  if (n < 1000 * 1000 * 1000) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(1)} GB`;
}
