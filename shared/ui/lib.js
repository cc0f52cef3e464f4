// Shared pieces of the admin UI: the API client, DOM builders and small components.
//
// Rule of this code base: data from the API only ever reaches the page as text nodes,
// attribute values or form values. Nothing here parses markup: elements are built with the DOM API.

/** The admin API base: the page's path without the trailing /admin/ui... part. */
export const API_BASE = location.pathname.replace(/\/admin\/ui(?:\/.*)?$/, '');

const CRED_KEY = 'switchboard.credential';
const USER_KEY = 'switchboard.user';

export function credential() {
  return sessionStorage.getItem(CRED_KEY);
}

export function signedInUser() {
  return sessionStorage.getItem(USER_KEY) || '';
}

export function storeCredential(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  sessionStorage.setItem(CRED_KEY, btoa(bin));
  sessionStorage.setItem(USER_KEY, user);
}

export function forgetCredential() {
  sessionStorage.removeItem(CRED_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** An error answered by the API (WordPress REST shape) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
    const m = /^Invalid parameter\(s\): ([A-Za-z0-9_.[\]-]+): /.exec(message || '');
    if (m) this.field = m[1];
    else if (code === 'invalid_url' || code === 'invalid_webhook_url') this.field = 'url';
    else if (code === 'invalid_webhook_event') this.field = 'events';
    else this.field = null;
  }
}

let unauthorizedHandler = () => {};
export function onUnauthorized(f) {
  unauthorizedHandler = f;
}

let inflight = 0;
function trackBusy(delta) {
  inflight = Math.max(0, inflight + delta);
  const bar = document.getElementById('progress');
  if (bar) bar.hidden = inflight === 0;
  document.getElementById('view')?.setAttribute('aria-busy', inflight > 0 ? 'true' : 'false');
}

/** Calls the admin API with the stored Basic credential. Resolves to the parsed JSON body. */
export async function api(method, path, body) {
  // X-Requested-With marks the call as the UI's own: a refused credential comes back as a plain
  // 401 (no Basic challenge), so the browser never shows its own prompt.
  const headers = { Accept: 'application/json', 'X-Requested-With': 'switchboard-ui' };
  const cred = credential();
  if (cred) headers.Authorization = `Basic ${cred}`;
  // credentials: 'omit' keeps the browser's own Basic-auth cache and prompt out of API calls:
  // a refused credential comes back to this code as a 401, which shows the sign-in form.
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  trackBusy(1);
  try {
    let res;
    try {
      res = await fetch(API_BASE + path, init);
    } catch {
      throw new ApiError(0, 'network_error', 'The admin API could not be reached. Check the connection and retry.');
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (res.status === 401) {
      const err = new ApiError(401, 'rest_forbidden', (data && data.message) || 'Sign in again.', data);
      unauthorizedHandler(err);
      throw err;
    }
    if (!res.ok) {
      const message =
        data && typeof data.message === 'string' && data.message
          ? data.message
          : `The request failed with HTTP ${res.status}.`;
      const err = new ApiError(res.status, (data && data.code) || `http_${res.status}`, message, data);
      err.retryAfter = Number(res.headers.get('Retry-After')) || null;
      throw err;
    }
    return data;
  } finally {
    trackBusy(-1);
  }
}

/** `?a=1&b=2` from an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Every item of a paginated list (bounded: at most `max` items). */
export async function listAll(path, key, max = 500) {
  const out = [];
  for (let page = 1; out.length < max; page++) {
    const r = await api('GET', `${path}${qs({ per_page: 100, page })}`);
    out.push(...(r[key] || []));
    const p = r.pagination || {};
    if (!p.last_page || page >= p.last_page || (r[key] || []).length === 0) break;
  }
  return out;
}

// --- DOM builders ----------------------------------------------------------------------------

function setAttrs(el, attrs, svg) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class' && !svg) {
      el.className = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if ((k === 'value' || k === 'checked' || k === 'selected') && !svg) {
      el[k] = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** An HTML element; string children become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs, false);
  appendAll(el, children);
  return el;
}

/** An SVG element, built the same way. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs, true);
  appendAll(el, children);
  return el;
}

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// --- formatting --------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

/** Local `YYYY-MM-DD HH:MM:SS` for an RFC 3339 (or `YYYY-MM-DD HH:MM:SS` UTC) timestamp. */
export function formatTime(value) {
  if (!value) return '';
  const d = parseTime(value);
  if (!d) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function parseTime(value) {
  if (!value) return null;
  let s = String(value);
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(s)) s = `${s.replace(' ', 'T')}Z`;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function timeEl(value, empty = '—') {
  if (!value) return h('span', { class: 'muted' }, empty);
  return h('time', { datetime: String(value), title: String(value) }, formatTime(value));
}

export function relative(value) {
  const d = parseTime(value);
  if (!d) return '';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A time with how long ago it was, or `never`. */
export function sinceEl(value) {
  if (!value) return h('span', { class: 'muted' }, 'never');
  return h('span', null, timeEl(value), h('span', { class: 'muted' }, ` (${relative(value)})`));
}

// --- components ----------------------------------------------------------------------------------

export function badge(status) {
  const s = String(status || 'unknown');
  const known = ['active', 'inactive', 'failed', 'success', 'pending', 'paused', 'held'];
  return h('span', { class: `badge badge-${known.includes(s) ? s : 'other'}` }, s);
}

export function spinner() {
  return h('span', { class: 'spinner', 'aria-hidden': 'true' });
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, spinner(), ' ', text);
}

/** The "nothing here yet" block: what it is and what to do next. */
export function emptyState(title, text, ...actions) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), text ? h('p', null, text) : null, actions.length ? h('p', { class: 'actions' }, actions) : null);
}

export function errorBox(err, retry) {
  const msg = err instanceof Error ? err.message : String(err);
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('p', null, msg),
    retry ? h('p', null, h('button', { type: 'button', class: 'btn', onclick: retry }, 'Retry')) : null,
  );
}

export function linkButton(href, text, cls = 'btn') {
  return h('a', { class: cls, href }, text);
}

/** Runs `fn` with the button showing progress; the button is disabled meanwhile. */
export async function withBusy(button, busyText, fn) {
  const saved = Array.from(button.childNodes);
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.replaceChildren(spinner(), ` ${busyText}`);
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.replaceChildren(...saved);
  }
}

/** Polite announcements (and a visible toast). */
export function toast(message, kind = 'ok') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h('p', { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

/** A modal confirmation; resolves to true when confirmed. */
export function confirmDialog({ title, body, confirmLabel = 'Confirm', danger = false, content = null }) {
  return new Promise((resolve) => {
    const titleId = nextId('dlg');
    const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
    const ok = h('button', { type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary', value: 'ok' }, confirmLabel);
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      (Array.isArray(body) ? body : [body]).map((p) => h('p', null, p)),
      content,
      h('p', { class: 'actions' }, cancel, ok),
    );
    let answered = false;
    const finish = (value) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dialog.addEventListener('close', () => finish(false));
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Copies text to the clipboard, with a fallback for browsers without the async API. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection-based copy
  }
  const ta = h('textarea', { class: 'offscreen', readonly: true }, text);
  document.body.append(ta);
  ta.select();
  let ok;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function copyButton(getText, label = 'Copy', extra = {}) {
  const btn = h('button', { type: 'button', class: 'btn btn-small', ...extra }, label);
  btn.addEventListener('click', async () => {
    const ok = await copyText(getText());
    btn.textContent = ok ? 'Copied' : 'Copy failed: select and copy by hand';
    toast(ok ? 'Copied to the clipboard.' : 'The clipboard is not available here: select the text and copy it.', ok ? 'ok' : 'error');
    setTimeout(() => {
      btn.textContent = label;
    }, 2000);
  });
  return btn;
}

/** `Page X of Y · N total` with previous/next buttons. */
export function pager(pagination, onPage) {
  const p = pagination || {};
  const current = Number(p.current_page || 1);
  const last = Math.max(1, Number(p.last_page || 1));
  const total = Number(p.total || 0);
  const prev = h('button', { type: 'button', class: 'btn btn-small', disabled: current <= 1, onclick: () => onPage(current - 1) }, '← Newer');
  const next = h('button', { type: 'button', class: 'btn btn-small', disabled: current >= last, onclick: () => onPage(current + 1) }, 'Older →');
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' }, prev, h('span', { class: 'pager-info' }, `Page ${current} of ${last} · ${total} total`), next);
}

/**
 * A paged list in `slot`, 25 items a page: `path(params)` is fetched (params: `per_page`, `page`),
 * the items under `key` become rows of `table(columns, …, caption)` via `row`, with a pager;
 * `empty()` is shown when there are none at all, and an API error with a Retry button. Returns
 * `load`: call it to reload the current page, or `load(true)` to go back to the first.
 */
export function pagedTable(slot, { path, key, columns, row, caption, empty }) {
  let page = 1;
  const load = async (reset) => {
    if (reset === true) page = 1;
    try {
      const r = await api('GET', path({ per_page: 25, page }));
      const items = r[key] || [];
      if (items.length === 0 && page === 1) {
        slot.replaceChildren(empty());
        return;
      }
      slot.replaceChildren(
        table(columns, items.map(row), caption),
        pager(r.pagination, (p) => {
          page = p;
          load();
        }),
      );
    } catch (err) {
      if (err.status !== 401) slot.replaceChildren(errorBox(err, () => load()));
    }
  };
  return load;
}

/** A table whose cells carry their column label (stacked as cards at phone width). */
export function table(columns, rows, caption) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        rows.map((cells) => h('tr', null, cells.map((cell, i) => h('td', { 'data-label': columns[i] }, cell)))),
      ),
    ),
  );
}

/** Definition list from [label, value] pairs. */
export function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(Boolean).map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v === '' || v === null || v === undefined ? h('span', { class: 'muted' }, '—') : v))),
  );
}

// --- forms -----------------------------------------------------------------------------------------

/**
 * A labelled form field. `control` is an input/select/textarea (its id is set here) or an
 * element containing its own labelled controls (then pass `group: true`: a fieldset).
 */
export function field({ label, name, control, hint, group = false }) {
  const errId = nextId('err');
  const hintId = hint ? nextId('hint') : null;
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: hintId }, hint) : null;
  if (group) {
    return h('fieldset', { class: 'field', dataset: { field: name }, 'aria-describedby': [hintId, errId].filter(Boolean).join(' ') }, h('legend', null, label), hintEl, control, err);
  }
  if (!control.id) control.id = nextId('in');
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: name } }, h('label', { for: control.id }, label), hintEl, control, err);
}

export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) {
    e.hidden = true;
    e.textContent = '';
  }
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  for (const e of form.querySelectorAll('.form-error')) e.remove();
}

/** Shows an API error next to the field it names, or at the top of the form. */
export function showError(form, err) {
  clearErrors(form);
  const message = err instanceof Error ? err.message : String(err);
  const name = err && err.field ? err.field.replace(/\[.*$/, '') : null;
  const wrap = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
  if (wrap) {
    const e = wrap.querySelector('.field-error');
    e.textContent = message;
    e.hidden = false;
    const ctl = wrap.querySelector('input:not([type=hidden]):not([disabled]), select, textarea');
    if (ctl) {
      ctl.setAttribute('aria-invalid', 'true');
      ctl.focus();
    } else {
      wrap.setAttribute('tabindex', '-1');
      wrap.focus();
    }
    wrap.scrollIntoView({ block: 'center' });
    return;
  }
  const box = h('div', { class: 'form-error alert alert-error', role: 'alert', tabindex: '-1' }, message);
  form.prepend(box);
  box.focus();
}

/** Key/value rows (custom headers, field maps). */
export function pairsEditor({ pairs = {}, keyLabel, valueLabel, addLabel, keyPlaceholder = '', valuePlaceholder = '' }) {
  const rows = h('div', { class: 'pairs' });
  const addRow = (k = '', v = '') => {
    const ki = h('input', { type: 'text', value: k, placeholder: keyPlaceholder, autocomplete: 'off', spellcheck: 'false' });
    const vi = h('input', { type: 'text', value: v, placeholder: valuePlaceholder, autocomplete: 'off', spellcheck: 'false' });
    ki.id = nextId('k');
    vi.id = nextId('v');
    const row = h(
      'div',
      { class: 'pair' },
      h('span', { class: 'pair-cell' }, h('label', { for: ki.id, class: 'small' }, keyLabel), ki),
      h('span', { class: 'pair-cell' }, h('label', { for: vi.id, class: 'small' }, valueLabel), vi),
    );
    const rm = h('button', { type: 'button', class: 'btn btn-small', title: 'Remove this row' }, 'Remove');
    rm.addEventListener('click', () => {
      row.remove();
      add.focus();
    });
    row.append(rm);
    rows.append(row);
    return ki;
  };
  const add = h('button', { type: 'button', class: 'btn btn-small' }, addLabel);
  add.addEventListener('click', () => addRow().focus());
  for (const [k, v] of Object.entries(pairs || {})) addRow(k, v);
  const el = h('div', null, rows, add);
  const value = () => {
    const out = {};
    for (const row of rows.querySelectorAll('.pair')) {
      const [ki, vi] = row.querySelectorAll('input');
      const k = ki.value.trim();
      if (k) out[k] = vi.value;
    }
    return out;
  };
  return { el, value };
}

/**
 * A searchable multi-select of catalog items (spaces or courses): a filter box and a list of
 * checkboxes. Unknown selected ids (deleted items) stay listed so they can be unchecked.
 */
export function multiSelect({ items, selected = [], noun, emptyText, emptyAction }) {
  const chosen = new Set(selected.map(Number));
  const all = items.map((i) => ({ id: Number(i.id), title: i.title }));
  for (const id of chosen) {
    if (!all.some((i) => i.id === id)) all.push({ id, title: `${noun} #${id} (no longer exists)` });
  }
  const summary = h('p', { class: 'hint', 'aria-live': 'polite' });
  const list = h('ul', { class: 'checklist' });
  const updateSummary = () => {
    const names = all.filter((i) => chosen.has(i.id)).map((i) => i.title);
    summary.textContent = names.length ? `Selected (${names.length}): ${names.join(', ')}` : 'None selected.';
  };
  for (const item of all) {
    const cb = h('input', { type: 'checkbox', value: String(item.id), checked: chosen.has(item.id) });
    cb.id = nextId('opt');
    cb.addEventListener('change', () => {
      if (cb.checked) chosen.add(item.id);
      else chosen.delete(item.id);
      updateSummary();
    });
    list.append(h('li', { dataset: { title: item.title.toLowerCase() } }, cb, h('label', { for: cb.id }, item.title, h('span', { class: 'muted' }, ` #${item.id}`))));
  }
  updateSummary();
  if (all.length === 0) {
    const el = h('div', { class: 'multi' }, h('p', { class: 'hint' }, emptyText, ' ', emptyAction || null));
    return { el, value: () => [] };
  }
  const search = h('input', { type: 'search', placeholder: `Filter ${noun.toLowerCase()}s`, 'aria-label': `Filter ${noun.toLowerCase()}s`, autocomplete: 'off' });
  const none = h('li', { class: 'muted', hidden: true }, `No ${noun.toLowerCase()} matches.`);
  list.append(none);
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const li of list.querySelectorAll('li[data-title]')) {
      const hit = !q || li.dataset.title.includes(q) || li.querySelector('input').value === q;
      li.hidden = !hit;
      if (hit) shown += 1;
    }
    none.hidden = shown > 0;
  });
  const el = h('div', { class: 'multi' }, search, list, summary);
  return { el, value: () => all.filter((i) => chosen.has(i.id)).map((i) => i.id) };
}

/** Pretty JSON for display (as text), or the raw string when it is not JSON. */
export function prettyJson(value) {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

/** Random hex secret of `bytes` bytes. */
export function randomSecret(bytes = 32) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function setTitle(text) {
  document.title = text ? `${text} · Switchboard` : 'Switchboard';
}

/** The screen heading; focused after navigation so keyboard and screen-reader users land on it. */
export function heading(text, ...after) {
  return h('div', { class: 'screen-head' }, h('h1', { tabindex: '-1' }, text), after.length ? h('div', { class: 'actions' }, after) : null);
}

/** POSTs a signed provider sample to an incoming webhook URL of this same site (the only call
 * that is not the admin API; the CSP's connect-src 'self' holds it to this origin too). */
export async function postToWebhook(url, headers, body) {
  const target = new URL(url, location.href);
  if (target.origin !== location.origin || !/\/webhook\/[A-Za-z0-9_-]+$/.test(target.pathname)) {
    throw new Error('The webhook URL is not on this site.');
  }
  return fetch(target.href, { method: 'POST', headers, body, credentials: 'omit', cache: 'no-store' });
}
