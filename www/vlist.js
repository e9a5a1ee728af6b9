// A virtual list: only the rows in view (plus a few) exist in the DOM, so 10,000 messages
// scroll as smoothly as 10. Rows have one fixed height, read from the CSS variable --row-h.
// The container is an ARIA listbox; the active row is its aria-activedescendant.

const OVERSCAN = 6;

export class VirtualList {
  /**
   * container: the scrolling element (role=listbox). renderRow(element, index) fills a row;
   * rowId(index) gives the row's element id; onClick(index, event).
   */
  constructor(container, { renderRow, rowId, onClick }) {
    this.container = container;
    this.renderRow = renderRow;
    this.rowId = rowId;
    this.count = 0;
    this.active = -1;
    this.rowHeight = 58;
    this.rows = new Map(); // index -> element
    this.spacer = document.createElement('div');
    this.spacer.className = 'list-spacer';
    this.spacer.setAttribute('role', 'presentation');
    this.empty = document.createElement('div');
    this.empty.className = 'list-empty';
    this.empty.hidden = true;
    container.append(this.spacer, this.empty);
    this.scheduled = false;
    container.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => { this.measure(); this.render(); }).observe(container);
    container.addEventListener('click', (event) => {
      const row = event.target.closest('[data-index]');
      if (row) onClick(Number(row.dataset.index), event);
    });
    this.measure();
  }

  measure() {
    const h = parseFloat(getComputedStyle(this.container).getPropertyValue('--row-h'));
    if (h > 0 && h !== this.rowHeight) {
      this.rowHeight = h;
      this.spacer.style.height = `${this.count * h}px`;
      this.refresh();
    }
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => { this.scheduled = false; this.render(); });
  }

  setCount(count, emptyText = '') {
    this.count = count;
    this.spacer.style.height = `${count * this.rowHeight}px`;
    this.empty.hidden = count > 0;
    this.empty.textContent = emptyText;
    if (this.active >= count) this.active = count - 1;
    this.refresh();
  }

  /** Re-renders every row in view (the data changed). */
  refresh() {
    for (const el of this.rows.values()) el.remove();
    this.rows.clear();
    this.render();
  }

  /** Re-renders one row if it is in view. */
  update(index) {
    const el = this.rows.get(index);
    if (el) this.fill(el, index);
  }

  fill(el, index) {
    el.dataset.index = String(index);
    el.id = this.rowId(index);
    el.style.transform = `translateY(${index * this.rowHeight}px)`;
    el.setAttribute('aria-posinset', String(index + 1));
    el.setAttribute('aria-setsize', String(this.count));
    const active = index === this.active;
    el.classList.toggle('active', active);
    el.setAttribute('aria-selected', active ? 'true' : 'false');
    this.renderRow(el, index);
  }

  render() {
    const { scrollTop, clientHeight } = this.container;
    const h = this.rowHeight;
    const first = Math.max(0, Math.floor(scrollTop / h) - OVERSCAN);
    const last = Math.min(this.count - 1, Math.ceil((scrollTop + clientHeight) / h) + OVERSCAN);
    for (const [index, el] of this.rows) {
      if (index < first || index > last) { el.remove(); this.rows.delete(index); }
    }
    for (let i = first; i <= last; i++) {
      if (this.rows.has(i)) continue;
      const el = document.createElement('div');
      el.setAttribute('role', 'option');
      el.className = 'row';
      this.fill(el, i);
      this.spacer.append(el);
      this.rows.set(i, el);
    }
    if (this.active >= 0 && this.rows.has(this.active)) {
      this.container.setAttribute('aria-activedescendant', this.rowId(this.active));
    } else {
      this.container.removeAttribute('aria-activedescendant');
    }
  }

  setActive(index, { scroll = true } = {}) {
    if (this.count === 0) { this.active = -1; this.render(); return; }
    index = Math.max(0, Math.min(this.count - 1, index));
    const previous = this.active;
    this.active = index;
    if (scroll) this.scrollToIndex(index);
    if (previous !== index) this.update(previous);
    this.update(index);
    this.render();
  }

  scrollToIndex(index) {
    const h = this.rowHeight;
    const top = index * h;
    const { scrollTop, clientHeight } = this.container;
    if (top < scrollTop) this.container.scrollTop = top;
    else if (top + h > scrollTop + clientHeight) this.container.scrollTop = top + h - clientHeight;
    this.render();
  }

  /** How many rows fit in view (for Page Up/Down). */
  pageSize() {
    return Math.max(1, Math.floor(this.container.clientHeight / this.rowHeight) - 1);
  }
}
