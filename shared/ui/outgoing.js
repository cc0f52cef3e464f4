// Outgoing webhooks: endpoints, events, secret, test, deliveries, redeliver, outcome chart.

import { formatSection, formatLabel } from './formats.js';
import { api, qs, h, svg, loading, emptyState, errorBox, table, field, showError, clearErrors, withBusy, toast, confirmDialog, timeEl, heading, setTitle, facts, badge, copyButton, pairsEditor, prettyJson, parseTime, nextId, pagedTable, sinceEl } from './lib.js';

let eventTypes = null;
function loadEventTypes() {
  if (!eventTypes) {
    eventTypes = api('GET', '/admin/event-types').catch((e) => {
      eventTypes = null;
      throw e;
    });
  }
  return eventTypes;
}

export async function list(screen) {
  setTitle('Outgoing webhooks');
  const body = h('div', null, loading());
  const parked = h('div');
  screen.append(
    heading('Outgoing webhooks', h('a', { class: 'btn btn-primary', href: '#/outgoing/new' }, 'Add endpoint')),
    h('p', { class: 'lead' }, 'Endpoints that receive community events as signed JSON POSTs, retried on failure.'),
    parked,
    body,
  );
  parkedBatches(parked);
  await pagedTable(body, {
    path: (page) => `/admin/webhooks${qs(page)}`,
    key: 'webhooks',
    columns: ['Name', 'Status', 'URL', 'Events', 'Last delivered', 'Last error'],
    row: (w) => [
      h('a', { href: `#/outgoing/${Number(w.id)}` }, w.name),
      badge(w.status),
      h('span', { class: 'mono break' }, w.url),
      eventsSummary(w.events),
      sinceEl(w.last_triggered_at),
      w.last_error ? h('span', { class: 'run-error' }, w.last_error) : h('span', { class: 'muted' }, '—'),
    ],
    caption: 'Outgoing webhooks',
    empty: () =>
      emptyState('No outgoing webhooks yet.', 'Add an endpoint URL and choose the events it should receive (for example space.member_joined); then press Test on it to check the connection.', h('a', { class: 'btn btn-primary', href: '#/outgoing/new' }, 'Add the first endpoint')),
  })();
}

/** How many outbox pages the Outgoing page reads on its own while it finds no parked batch. */
const OUTBOX_PAGES_AHEAD = 5;

/** One page of the outbox walk from `cursor` (undefined: the start). */
function outboxPage(cursor) {
  return api('GET', cursor ? `/admin/outbox?cursor=${encodeURIComponent(cursor)}` : '/admin/outbox');
}

/**
 * The first page of the outbox that has parked batches (reading at most OUTBOX_PAGES_AHEAD
 * pages), or null when none was found.
 */
async function firstParkedPage() {
  let cursor;
  for (let read = 0; read < OUTBOX_PAGES_AHEAD; read += 1) {
    const page = await outboxPage(cursor);
    if ((page.parked || []).length || !page.more || !page.next_cursor) return page;
    cursor = page.next_cursor;
  }
  return null;
}

/** A parked batch's row, with its own Redrive button. */
function parkedRow(b, refresh) {
  const redrive = h('button', { type: 'button', class: 'btn btn-small' }, 'Redrive');
  redrive.addEventListener('click', async () => {
    try {
      await withBusy(redrive, 'Sending…', () => api('POST', `/admin/outbox/${encodeURIComponent(b.batch_id)}/redrive`));
      toast('The batch was sent to the event queue again.');
      await refresh();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
  return h('li', null, h('span', { class: 'mono' }, b.batch_id), ` — ${(b.events || []).map((e) => e.event).join(', ')} (sent ${Number(b.attempts)} times) `, redrive);
}

/** Redrives every parked batch, one bounded bulk call after another; how many were sent. */
async function redriveAll() {
  let sent = 0;
  let body = {};
  for (;;) {
    const r = await api('POST', '/admin/outbox/redrive', body);
    sent += Number(r.redriven) || 0;
    if (!r.more || !r.next_cursor) return sent;
    body = { cursor: r.next_cursor };
  }
}

/** The "Redrive all" button: redrives every parked batch, says how many, reloads the list. */
function redriveAllButton(refresh) {
  const all = h('button', { type: 'button', class: 'btn btn-small', id: 'redrive-all' }, 'Redrive all');
  all.addEventListener('click', async () => {
    try {
      const sent = await withBusy(all, 'Sending…', redriveAll);
      toast(`${sent} ${sent === 1 ? 'batch was' : 'batches were'} sent to the event queue again.`);
      await refresh();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
  return all;
}

/** "Show more": appends the next page's parked batches to the list. */
function showMoreButton(page, list, refresh) {
  const more = h('button', { type: 'button', class: 'btn btn-small', id: 'parked-more' }, 'Show more');
  more.addEventListener('click', async () => {
    try {
      const next = await withBusy(more, 'Loading…', () => outboxPage(page.next_cursor));
      list.append(...(next.parked || []).map((b) => parkedRow(b, refresh)));
      if (next.more && next.next_cursor) more.replaceWith(showMoreButton(next, list, refresh));
      else more.remove();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
  return more;
}

/** Outbox batches the sweeper gave up on (shown only when there are some): Redrive each or all. */
async function parkedBatches(slot) {
  let page;
  try {
    page = await firstParkedPage();
  } catch {
    return;
  }
  if (!page || !(page.parked || []).length) {
    slot.replaceChildren();
    return;
  }
  const refresh = () => parkedBatches(slot);
  const list = h('ul', { id: 'parked-list' }, ...page.parked.map((b) => parkedRow(b, refresh)));
  const more = page.more && page.next_cursor ? showMoreButton(page, list, refresh) : null;
  slot.replaceChildren(
    h(
      'section',
      { class: 'card alert alert-warn', 'aria-labelledby': 'parked-title' },
      h('h2', { id: 'parked-title' }, 'Parked event batches'),
      h('p', null, 'These events were sent to the event queue 5 times and never fanned out. Fix what failed (see the dispatch logs), then redrive them.'),
      h('p', null, redriveAllButton(refresh)),
      list,
      more,
    ),
  );
}

function eventsSummary(events) {
  const list = events || [];
  if (list.includes('*')) return 'All events';
  if (list.length <= 3) return list.join(', ');
  return `${list.slice(0, 3).join(', ')} +${list.length - 3} more`;
}

export async function create(screen) {
  setTitle('New outgoing webhook');
  screen.append(h('p', { class: 'crumbs' }, h('a', { href: '#/outgoing' }, '← Outgoing webhooks')), heading('New outgoing webhook'));
  const slot = h('div', null, loading('Loading the event catalog…'));
  screen.append(slot);
  slot.replaceChildren(await endpointForm(null));
}

export async function edit(screen, params) {
  const w = await api('GET', `/admin/webhooks/${Number(params.id)}`);
  setTitle(`Edit ${w.name}`);
  screen.append(h('p', { class: 'crumbs' }, h('a', { href: `#/outgoing/${Number(w.id)}` }, `← ${w.name}`)), heading(`Edit “${w.name}”`));
  const slot = h('div', null, loading('Loading the event catalog…'));
  screen.append(slot);
  slot.replaceChildren(await endpointForm(w));
}

/** The event catalog as grouped checkboxes, with `*` and `ns.*`. */
function eventPicker(catalog, selected) {
  const chosen = new Set(selected || []);
  const boxes = [];
  const all = h('input', { type: 'checkbox', value: '*', checked: chosen.has('*') });
  all.id = nextId('ev');
  const groups = [];
  const filter = h('input', { type: 'search', placeholder: 'Filter events', 'aria-label': 'Filter events', autocomplete: 'off' });
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });
  const known = new Set(['*']);

  const sync = () => {
    const star = all.checked;
    for (const g of groups) {
      g.pattern.disabled = star;
      for (const cb of g.events) cb.disabled = star || g.pattern.checked;
    }
    const v = value();
    count.textContent = v.length === 0 ? 'No event selected.' : v.includes('*') ? 'Subscribed to every event.' : `Subscribed to: ${v.join(', ')}`;
  };

  const onChange = () => sync();
  const groupEls = (catalog.groups || []).map((g) => {
    known.add(g.pattern);
    for (const e of g.events || []) known.add(e.event);
    const group = eventGroup(g, chosen, onChange);
    groups.push(group);
    boxes.push(...group.events);
    return group.el;
  });
  // Subscriptions outside the current catalog stay visible so saving keeps (or drops) them knowingly.
  const others = [...chosen].filter((e) => !known.has(e));
  const otherBoxes = others.map((e) => {
    const cb = h('input', { type: 'checkbox', value: e, checked: true });
    cb.id = nextId('ev');
    cb.addEventListener('change', onChange);
    boxes.push(cb);
    return h('li', null, cb, h('label', { for: cb.id }, h('code', null, e), ' ', h('span', { class: 'muted' }, '(not in the catalog)')));
  });

  all.addEventListener('change', onChange);
  filter.addEventListener('input', () => filterEvents(groupEls, filter.value.trim().toLowerCase()));

  const value = () => pickedEvents(all, groups, boxes);

  const el = h(
    'div',
    { class: 'events' },
    h('p', { class: 'check all-events' }, all, h('label', { for: all.id }, 'All events ', h('code', null, '*'), h('span', { class: 'muted' }, ' (including event types added later)'))),
    filter,
    h('div', { class: 'event-groups' }, groupEls),
    otherBoxes.length ? h('ul', { class: 'checklist' }, otherBoxes) : null,
    count,
  );
  sync();
  return { el, value };
}

/** One namespace of the catalog: its `ns.*` checkbox and one checkbox per event type. */
function eventGroup(g, chosen, onChange) {
  const pattern = h('input', { type: 'checkbox', value: g.pattern, checked: chosen.has(g.pattern) });
  pattern.id = nextId('ev');
  pattern.addEventListener('change', onChange);
  const events = [];
  const items = (g.events || []).map((e) => {
    const cb = h('input', { type: 'checkbox', value: e.event, checked: chosen.has(e.event) });
    cb.id = nextId('ev');
    cb.addEventListener('change', onChange);
    events.push(cb);
    return h('li', { dataset: { search: `${e.event} ${e.description || ''}`.toLowerCase() } }, cb, h('label', { for: cb.id }, h('code', null, e.event), ' ', h('span', { class: 'muted' }, e.description || '')));
  });
  const el = h(
    'fieldset',
    { class: 'event-group', dataset: { ns: g.namespace } },
    h('legend', null, g.namespace),
    h('p', { class: 'check' }, pattern, h('label', { for: pattern.id }, `All ${g.namespace} events `, h('code', null, g.pattern))),
    h('ul', { class: 'checklist' }, items),
  );
  return { pattern, events, ns: g.namespace, el };
}

/** The subscriptions the picker's boxes say: `*`, whole groups, single events, others kept. */
function pickedEvents(all, groups, boxes) {
  if (all.checked) return ['*'];
  const out = [];
  for (const g of groups) {
    if (g.pattern.checked) out.push(g.pattern.value);
    else for (const cb of g.events) if (cb.checked) out.push(cb.value);
  }
  for (const cb of boxes) if (!cb.closest('.event-group') && cb.checked) out.push(cb.value);
  return out;
}

/** Shows the event types (and groups) matching the filter text `q`. */
function filterEvents(groupEls, q) {
  for (const li of groupEls.flatMap((g) => [...g.querySelectorAll('li[data-search]')])) li.hidden = q !== '' && !li.dataset.search.includes(q);
  for (const g of groupEls) {
    const anyShown = [...g.querySelectorAll('li[data-search]')].some((li) => !li.hidden);
    g.hidden = q !== '' && !anyShown && !g.dataset.ns.includes(q);
  }
}

async function endpointForm(w) {
  const catalog = await loadEventTypes();
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 200, value: w ? w.name : '', autocomplete: 'off', placeholder: 'e.g. Slack notifications' });
  const url = h('input', { type: 'url', name: 'url', required: true, value: w ? w.url : '', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://example.com/webhooks/switchboard', class: 'mono' });
  const status = h('select', { name: 'status' }, h('option', { value: 'active' }, 'Active: receives events'), h('option', { value: 'inactive' }, 'Inactive: receives nothing'), h('option', { value: 'paused' }, 'Paused: deliveries are kept (held) until resumed'));
  if (w && w.status === 'failed') status.prepend(h('option', { value: 'failed' }, 'Failed: disabled after repeated failures (choose Active to re-activate)'));
  status.value = w ? w.status : 'active';
  const ordering = h('select', { name: 'ordering' }, h('option', { value: 'none' }, 'As they come (fastest)'), h('option', { value: 'fifo' }, 'In publish order, one at a time (FIFO)'));
  ordering.value = w && w.ordering === 'fifo' ? 'fifo' : 'none';
  const rateLimit = h('input', { type: 'number', name: 'rate_limit', min: 1, max: 1000, step: 1, inputmode: 'numeric', placeholder: 'Unlimited', value: w && w.rate_limit ? String(w.rate_limit) : '' });
  const retry = h('input', { type: 'number', name: 'retry_count', min: 0, max: 5, step: 1, value: w ? String(w.retry_count ?? 3) : '3', inputmode: 'numeric' });
  const headers = pairsEditor({ pairs: w ? w.headers : {}, keyLabel: 'Header name', valueLabel: 'Value', addLabel: 'Add a header', keyPlaceholder: 'X-Api-Key', valuePlaceholder: 'value' });
  const picker = eventPicker(catalog, w ? w.events : []);
  const filter = filterInput(w);
  const format = formatSection(w, url, () => picker.value(), catalog, () => ({ filter: filter.value() }));
  filter.el.addEventListener('input', () => format.refreshEvents());
  picker.el.addEventListener('change', () => format.refreshEvents());
  const secret = w ? null : h('input', { type: 'text', name: 'secret', autocomplete: 'off', spellcheck: 'false', placeholder: 'Leave empty to generate a whsec_… secret', class: 'mono' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, w ? 'Save changes' : 'Create endpoint');
  const cancel = h('a', { class: 'btn', href: w ? `#/outgoing/${Number(w.id)}` : '#/outgoing' }, 'Cancel');
  const form = h(
    'form',
    { class: 'form', novalidate: true },
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Endpoint'),
      field({ label: 'Name', name: 'name', control: name, hint: 'For your reference only.' }),
      field({ label: 'URL', name: 'url', control: url, hint: 'Must be https:// and publicly reachable (plain http:// and loopback only in local mode).' }),
      field({ label: 'Status', name: 'status', control: status }),
      field({ label: 'Retries', name: 'retry_count', control: retry, hint: 'Attempts after a failure, 0 to 5 (after 1 min, 5 min, 30 min, 2 h, 24 h).' }),
      field({ label: 'Rate limit (deliveries per second)', name: 'rate_limit', control: rateLimit, hint: '1 to 1,000. Excess deliveries wait their turn (never failed, never holding up other endpoints). Empty: unlimited.' }),
      field({ label: 'Ordering', name: 'ordering', control: ordering, hint: 'FIFO: one delivery at a time in publish order; a failing delivery holds the next ones until it succeeds or its retries are exhausted.' }),
      secret ? field({ label: 'Secret', name: 'secret', control: secret, hint: 'Signs every delivery (X-Fluent-Signature, webhook-signature). You can reveal, copy and rotate it later.' }) : null,
    ),
    h('section', { class: 'card' }, h('h2', null, 'Events'), field({ label: 'Events to send', name: 'events', control: picker.el, group: true }), field({ label: 'Filter (optional)', name: 'filter', control: filter.el, hint: 'JSON over the delivered payload, e.g. {"data.space_id": 12} or {"xprofile.meta.plan": {"$in": ["pro", "team"]}}. Operators: $eq $ne $in $nin $gt $gte $lt $lte $exists $contains, combined with $and $or $not. Empty: every subscribed event. The preview below says whether its sample passes.' })),
    format.el,
    h('section', { class: 'card' }, h('h2', null, 'Custom headers'), field({ label: 'Headers sent with every delivery', name: 'headers', control: headers.el, group: true, hint: 'For example an API key your receiver expects.' })),
    h('p', { class: 'actions sticky-actions' }, submit, cancel),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const retries = retry.value.trim() === '' ? undefined : Number(retry.value);
    const body = { name: name.value, url: url.value.trim(), events: picker.value(), headers: headers.value(), ordering: ordering.value, filter: filter.value(), rate_limit: rateLimit.value.trim() === '' ? null : Number(rateLimit.value), ...format.value() };
    if (retries !== undefined) body.retry_count = Number.isInteger(retries) ? retries : retry.value;
    if (!w || status.value !== w.status) body.status = status.value;
    if (secret && secret.value.trim()) body.secret = secret.value.trim();
    try {
      const saved = await withBusy(submit, 'Saving…', () => (w ? api('PUT', `/admin/webhooks/${Number(w.id)}`, body) : api('POST', '/admin/webhooks', body)));
      toast(saved.message || 'Saved.');
      location.hash = `#/outgoing/${Number(saved.id ?? w.id)}`;
    } catch (err) {
      if (err.status !== 401) showError(form, err);
    }
  });
  return form;
}

/**
 * The filter editor: JSON text; `value()` is the parsed object, `null` when empty, or the text
 * itself when it is not JSON (the API then refuses it next to the field).
 */
function filterInput(w) {
  const el = h('textarea', { name: 'filter', id: 'filter', rows: 3, spellcheck: 'false', class: 'mono', placeholder: '{"data.space_id": 12}' }, w && w.filter ? JSON.stringify(w.filter, null, 2) : '');
  const value = () => {
    const text = el.value.trim();
    if (text === '') return null;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return { el, value };
}

// --- detail ----------------------------------------------------------------------------------------

export async function detail(screen, params) {
  const id = Number(params.id);
  const state = { w: await api('GET', `/admin/webhooks/${id}`) };
  setTitle(state.w.name);

  const del = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete');
  const head = heading(state.w.name, h('a', { class: 'btn', href: `#/outgoing/${id}/edit` }, 'Edit'), del);
  const banner = h('div');
  const info = h('div');
  const secret = secretCard(id, state);
  const setStatus = async (button, status, busyText) => {
    try {
      state.w = await withBusy(button, busyText, () => api('PUT', `/admin/webhooks/${id}`, { status }));
      const told = {
        active: 'The endpoint is active again: new events (and any held deliveries) are delivered to it.',
        paused: 'The endpoint is paused: its deliveries are kept as held until you resume it.',
      };
      toast(told[status] || 'The endpoint is disabled.');
      renderMeta();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  };
  const renderMeta = () => {
    head.querySelector('h1').textContent = state.w.name;
    renderBanner(banner, state.w, setStatus);
    info.replaceChildren(facts(endpointFacts(state.w, setStatus)));
    secret.render();
  };
  onDeleteEndpoint(del, id, () => state.w.name);

  const chartSlot = h('div', { class: 'chart-slot' }, loading('Loading delivery history…'));
  const deliveries = deliveriesCard(id, () => loadChart());
  const loadDeliveries = deliveries.load;
  const reload = () => Promise.all([loadDeliveries(), loadChart()]);
  const test = testCard(id, async () => {
    await reload();
    try {
      state.w = await api('GET', `/admin/webhooks/${id}`);
      renderMeta();
    } catch {
      // keep the last known state
    }
  });
  const recover = recoverCard(id, () => loadDeliveries());

  screen.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/outgoing' }, '← Outgoing webhooks')),
    head,
    banner,
    h('div', { class: 'grid2 top-cards' }, h('section', { class: 'card' }, h('h2', null, 'Endpoint'), info), h('div', null, test, h('section', { class: 'card' }, h('h2', null, 'Signing secret'), secret.el), recover)),
    h('section', { class: 'card', 'aria-labelledby': 'chart-title' }, h('h2', { id: 'chart-title' }, 'Delivery outcomes, last 24 hours'), chartSlot),
    deliveries.el,
  );
  renderMeta();

  const loadChart = chartLoader(chartSlot, id);
  await reload();
}

/** The banner of a failed (Re-activate), paused (Resume) or inactive (Activate) endpoint; empty when active. */
function renderBanner(banner, w, setStatus) {
  if (w.status === 'failed') {
    const reactivate = h('button', { type: 'button', class: 'btn btn-primary', id: 'reactivate' }, 'Re-activate');
    reactivate.addEventListener('click', () => setStatus(reactivate, 'active', 'Re-activating…'));
    banner.replaceChildren(
      h(
        'div',
        { class: 'alert alert-error', role: 'alert' },
        h('p', null, h('strong', null, 'This endpoint was disabled after repeated failed deliveries.'), ' It receives nothing until it is re-activated. Fix the receiver (press Send test event to check it), then re-activate.'),
        w.last_error ? h('p', null, 'Last error: ', h('span', { class: 'mono break' }, w.last_error)) : null,
        h('p', null, reactivate),
      ),
    );
  } else if (w.status === 'paused') {
    const resume = h('button', { type: 'button', class: 'btn btn-primary', id: 'resume' }, 'Resume');
    resume.addEventListener('click', () => setStatus(resume, 'active', 'Resuming…'));
    const held = w.held ?? 0;
    banner.replaceChildren(h('div', { class: 'alert alert-warn' }, h('p', null, h('strong', null, 'This endpoint is paused.'), ` Its deliveries are kept (${held} held) and sent when it is resumed, in publish order for FIFO endpoints.`), h('p', null, resume)));
  } else if (w.status === 'inactive') {
    const activate = h('button', { type: 'button', class: 'btn' }, 'Activate');
    activate.addEventListener('click', () => setStatus(activate, 'active', 'Activating…'));
    banner.replaceChildren(h('div', { class: 'alert alert-warn' }, h('p', null, 'This endpoint is inactive: it receives no events. '), h('p', null, activate)));
  } else {
    banner.replaceChildren();
  }
}

/** Pause: the endpoint's deliveries are kept as held until it is resumed. */
function pauseButton(setStatus) {
  const pause = h('button', { type: 'button', class: 'btn btn-small', id: 'pause' }, 'Pause');
  pause.addEventListener('click', () => setStatus(pause, 'paused', 'Pausing…'));
  return pause;
}

/** The facts of the "Endpoint" card. */
function endpointFacts(w, setStatus) {
  return [
    ['Status', w.status === 'active' ? h('span', null, badge(w.status), ' ', pauseButton(setStatus)) : badge(w.status)],
    ['Held', String(w.held ?? 0)],
    ['Rate limit', w.rate_limit ? `${w.rate_limit} deliveries/s` : 'Unlimited'],
    ['URL', h('span', { class: 'mono break' }, w.url)],
    ['Format', formatLabel(w.format)],
    ['Events', (w.events || []).length ? h('ul', { class: 'chips' }, (w.events || []).map((e) => h('li', null, h('code', null, e)))) : ''],
    ['Filter', w.filter ? h('code', { class: 'mono break' }, JSON.stringify(w.filter)) : 'None: every subscribed event'],
    ['Custom headers', Object.keys(w.headers || {}).length ? h('ul', { class: 'plain' }, Object.entries(w.headers).map(([k, v]) => h('li', { class: 'mono break' }, `${k}: ${v}`))) : 'None'],
    ['Retries', String(w.retry_count ?? '')],
    ['Ordering', w.ordering === 'fifo' ? 'FIFO (publish order, one at a time)' : 'As they come'],
    ['Last delivered', timeEl(w.last_triggered_at, 'never')],
    ['Last error', w.last_error ? h('span', { class: 'run-error' }, w.last_error) : ''],
    ['Created', timeEl(w.created_at)],
    ['Updated', timeEl(w.updated_at)],
  ];
}

/** The signing secret (masked until revealed), copy and rotate; `render()` redraws it from `state.w`. */
function secretCard(id, state) {
  const el = h('div');
  let revealed = false;
  const render = () => {
    const w = state.w;
    const value = h('code', { id: 'secret-value', class: 'secret mono break' }, revealed ? w.secret || '' : '•'.repeat(24));
    const reveal = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': revealed ? 'true' : 'false', 'aria-controls': 'secret-value' }, revealed ? 'Hide' : 'Reveal');
    reveal.addEventListener('click', () => {
      revealed = !revealed;
      render();
      el.querySelector('button').focus();
    });
    const rotate = h('button', { type: 'button', class: 'btn btn-small btn-warn' }, 'Rotate secret');
    rotate.addEventListener('click', async () => {
      const r = await rotateSecret(rotate, id);
      if (!r) return;
      state.w = { ...state.w, ...r };
      revealed = true;
      render();
      toast(r.message || 'The secret was rotated.');
    });
    el.replaceChildren(
      h('p', { class: 'hint' }, 'Every delivery carries X-Fluent-Signature and X-FluentCRM-Signature (sha256=HMAC-SHA256 of the body with this secret) and the Standard Webhooks webhook-signature header.'),
      h('p', { class: 'secret-row' }, value, ' ', reveal, ' ', copyButton(() => state.w.secret || '', 'Copy secret', { id: 'copy-secret' }), ' ', rotate),
      overlapNote(w),
    );
  };
  return { el, render };
}

/** The overlap choices of a rotation: seconds the current secret keeps signing ('' = the API's default, 24 hours). */
const OVERLAPS = [
  ['', '24 hours (default)'],
  ['3600', '1 hour'],
  ['604800', '7 days'],
  ['0', 'None: the current secret stops signing now'],
];

/** During a rotation's overlap: until when the previous secret signs beside the current one. */
function overlapNote(w) {
  const until = parseTime(w.previous_secret_expires_at);
  if (!until || until.getTime() <= Date.now()) return null;
  return h('p', { class: 'hint', id: 'secret-overlap' }, 'The previous secret keeps signing beside it in webhook-signature until ', timeEl(w.previous_secret_expires_at), '.');
}

/** Confirms and rotates the signing secret with the chosen overlap: the API's answer, or null (cancelled or failed). */
async function rotateSecret(rotate, id) {
  const overlap = h('select', { name: 'overlap_seconds' }, OVERLAPS.map(([v, label]) => h('option', { value: v }, label)));
  const ok = await confirmDialog({
    title: 'Rotate the signing secret?',
    body: [
      'A new secret is generated. During the overlap the current one keeps signing beside it in webhook-signature (Standard Webhooks receivers accept either); X-Fluent-Signature and X-FluentCRM-Signature use the new one at once.',
      'Update your receiver’s verification within the overlap (24 hours unless you choose otherwise). A rotation during an overlap drops the oldest secret; with no overlap, the current one stops signing immediately.',
    ],
    content: field({ label: 'Overlap', name: 'overlap_seconds', control: overlap }),
    confirmLabel: 'Rotate secret',
    danger: true,
  });
  if (!ok) return null;
  const body = overlap.value === '' ? undefined : { overlap_seconds: Number(overlap.value) };
  try {
    return await withBusy(rotate, 'Rotating…', () => api('POST', `/admin/webhooks/${id}/rotate-secret`, body));
  } catch (err) {
    if (err.status !== 401) toast(err.message, 'error');
    return null;
  }
}

/** "Delete": confirms, deletes and goes back to the list. */
function onDeleteEndpoint(del, id, name) {
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: `Delete “${name()}”?`, body: ['It stops receiving events immediately and its delivery log is removed.', 'This cannot be undone.'], confirmLabel: 'Delete endpoint', danger: true });
    if (!ok) return;
    try {
      await withBusy(del, 'Deleting…', () => api('DELETE', `/admin/webhooks/${id}`));
      toast('Outgoing webhook deleted.');
      location.hash = '#/outgoing';
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
}

/** The "Test" card: sends webhook.test, shows the outcome, then calls `after`. */
function testCard(id, after) {
  const testButton = h('button', { type: 'button', class: 'btn btn-primary', id: 'send-test' }, 'Send test event');
  const testResult = h('div', { id: 'test-result', role: 'status', 'aria-live': 'polite' });
  testButton.addEventListener('click', async () => {
    testResult.replaceChildren(h('p', { class: 'loading' }, 'Sending a signed webhook.test event and waiting for the answer (up to 30 s)…'));
    try {
      const r = await withBusy(testButton, 'Sending…', () => api('POST', `/admin/webhooks/${id}/test`));
      testResult.replaceChildren(testOutcome(r, id));
    } catch (err) {
      if (err.status === 401) return;
      testResult.replaceChildren(testOutcome({ success: false, message: err.message, status_code: err.data && err.data.status_code, response_time: err.data && err.data.response_time, delivery_id: err.data && err.data.delivery_id }, id));
    }
    await after();
  });
  return h('section', { class: 'card' }, h('h2', null, 'Test'), h('p', { class: 'hint' }, 'Sends a signed webhook.test event to the URL now and shows the answer.'), h('p', null, testButton), testResult);
}

/** The "Recover" card: attempts again the deliveries failed since a time, follows the job, then calls `after`. */
function recoverCard(id, after) {
  const recoverSince = h('input', { type: 'datetime-local', id: 'recover-since', name: 'since', required: true, step: 1 });
  const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
  recoverSince.value = new Date(dayAgo.getTime() - dayAgo.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  const recoverButton = h('button', { type: 'button', class: 'btn', id: 'recover' }, 'Recover failed deliveries');
  const recoverResult = h('div', { id: 'recover-result', role: 'status', 'aria-live': 'polite' });
  const showRecover = (job) => recoverResult.replaceChildren(h('p', null, job.status === 'done' ? `Done: ${job.attempted} of ${job.total} failed deliveries attempted again.` : `Running: ${job.attempted} of ${job.total} attempted so far…`));
  recoverButton.addEventListener('click', async () => {
    const since = new Date(recoverSince.value);
    if (Number.isNaN(since.getTime())) {
      recoverResult.replaceChildren(h('p', { class: 'run-error' }, 'Choose a date and time.'));
      return;
    }
    try {
      let job = await withBusy(recoverButton, 'Starting…', () => api('POST', `/admin/webhooks/${id}/recover`, { since: since.toISOString().replace(/\.\d{3}Z$/, 'Z') }));
      showRecover(job);
      for (let i = 0; i < 120 && job.status !== 'done'; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        job = await api('GET', `/admin/webhooks/${id}/recover/${encodeURIComponent(job.recover_id)}`);
        showRecover(job);
      }
      await after();
    } catch (err) {
      if (err.status !== 401) recoverResult.replaceChildren(h('p', { class: 'run-error' }, err.message));
    }
  });
  return h(
    'section',
    { class: 'card' },
    h('h2', null, 'Recover'),
    h('p', { class: 'hint' }, 'Attempts again every delivery that failed since the time below (same delivery id, so receivers can deduplicate).'),
    h('p', { class: 'inline' }, h('label', { for: 'recover-since' }, 'Failed since'), ' ', recoverSince, ' ', recoverButton),
    recoverResult,
  );
}

/** The "Deliveries" card: a status filter and Refresh (which reloads `alsoRefresh` too); `load` reloads the table. */
function deliveriesCard(id, alsoRefresh) {
  const deliveriesBody = h('div', null, loading());
  const statusFilter = h('select', { id: 'delivery-status' }, h('option', { value: '' }, 'All'), h('option', { value: 'success' }, 'Succeeded'), h('option', { value: 'failed' }, 'Failed'), h('option', { value: 'pending' }, 'Pending (waiting for a retry)'));
  const refresh = h('button', { type: 'button', class: 'btn btn-small' }, 'Refresh');
  const load = deliveriesTable(deliveriesBody, id, statusFilter);
  statusFilter.addEventListener('change', () => load(true));
  refresh.addEventListener('click', () => withBusy(refresh, 'Refreshing…', () => Promise.all([load(), alsoRefresh()])));
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'deliveries-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'deliveries-title' }, 'Deliveries'), h('span', { class: 'inline' }, h('label', { for: 'delivery-status' }, 'Status'), statusFilter, refresh)),
    deliveriesBody,
  );
  return { el, load };
}

/** The endpoint's deliveries, filtered by `statusFilter`: returns the loader. */
function deliveriesTable(deliveriesBody, id, statusFilter) {
  return pagedTable(deliveriesBody, {
    path: (page) => `/admin/webhooks/${id}/deliveries${qs({ status: statusFilter.value, ...page })}`,
    key: 'deliveries',
    columns: ['Event', 'Status', 'Response', 'Duration', 'Attempts', 'Attempted', ''],
    row: (d) => [
      h('code', null, d.event),
      badge(d.status),
      d.response_code ? String(d.response_code) : h('span', { class: 'muted' }, '—'),
      d.response_time !== null && d.response_time !== undefined ? `${d.response_time} ms` : h('span', { class: 'muted' }, '—'),
      String(d.attempts ?? ''),
      timeEl(d.attempted_at),
      h('a', { href: `#/outgoing/${id}/deliveries/${encodeURIComponent(d.id)}`, 'aria-label': `Details of delivery ${d.id}` }, 'Details'),
    ],
    caption: 'Deliveries',
    empty: () =>
      statusFilter.value
        ? emptyState(`No ${statusFilter.value} deliveries.`, 'Choose “All” to see every delivery.')
        : emptyState('No deliveries yet.', 'Press “Send test event” above to check the endpoint, or wait for one of its events to happen (for example, call an incoming webhook that adds someone to a space).'),
  });
}

/** The loader of the outcome chart (the latest 100 deliveries) into `chartSlot`. */
function chartLoader(chartSlot, id) {
  const loadChart = async () => {
    try {
      const r = await api('GET', `/admin/webhooks/${id}/deliveries${qs({ per_page: 100, page: 1 })}`);
      chartSlot.replaceChildren(outcomeChart(r.deliveries || [], r.pagination, chartSlot.clientWidth));
    } catch (err) {
      if (err.status !== 401) chartSlot.replaceChildren(errorBox(err, loadChart));
    }
  };
  return loadChart;
}

function testOutcome(r, id) {
  const ok = !!r.success;
  return h(
    'div',
    { class: `alert ${ok ? 'alert-ok' : 'alert-error'} test-outcome` },
    h('p', null, h('strong', null, ok ? 'Test delivered.' : 'Test failed.'), ' ', r.message || ''),
    facts([
      ['Status code', r.status_code !== undefined && r.status_code !== null ? String(r.status_code) : 'no response'],
      ['Response time', r.response_time !== undefined && r.response_time !== null ? `${r.response_time} ms` : '—'],
      r.delivery_id ? ['Delivery', h('a', { href: `#/outgoing/${id}/deliveries/${encodeURIComponent(r.delivery_id)}` }, String(r.delivery_id))] : null,
    ]),
  );
}

/** Hourly success/failed/pending counts over the last 24 hours, as an SVG bar chart. */
export function outcomeChart(deliveries, pagination, width = 720) {
  const { buckets, totals, counted } = hourlyBuckets(deliveries, 24);
  const basis = pagination && pagination.total > deliveries.length ? ` (from the latest ${deliveries.length} of ${pagination.total} deliveries)` : '';
  if (counted === 0) {
    return emptyState('No deliveries in the last 24 hours.', 'Send a test event or wait for subscribed events; their outcomes are charted here per hour.');
  }
  const summaryId = nextId('chart');
  const summary = `${totals.success} succeeded, ${totals.failed} failed, ${totals.pending} pending in the last 24 hours${basis}.`;
  return h(
    'figure',
    { class: 'chart-figure' },
    chartSvg(buckets, width, summaryId),
    h(
      'figcaption',
      { id: summaryId },
      h('span', { class: 'legend legend-success' }, `${totals.success} succeeded`),
      h('span', { class: 'legend legend-failed' }, `${totals.failed} failed`),
      h('span', { class: 'legend legend-pending' }, `${totals.pending} pending`),
      h('span', { class: 'muted' }, ` per hour, last 24 hours${basis}.`),
    ),
    h('p', { class: 'visually-hidden' }, summary),
  );
}

/** The deliveries counted per hour over the last `hours` hours (ending with the current hour). */
function hourlyBuckets(deliveries, hours) {
  const end = new Date();
  end.setMinutes(0, 0, 0);
  end.setHours(end.getHours() + 1);
  const start = end.getTime() - hours * 3600_000;
  const buckets = Array.from({ length: hours }, (_, i) => ({ start: new Date(start + i * 3600_000), success: 0, failed: 0, pending: 0 }));
  let counted = 0;
  for (const d of deliveries) {
    const t = parseTime(d.attempted_at);
    if (!t) continue;
    const i = Math.floor((t.getTime() - start) / 3600_000);
    if (i < 0 || i >= hours) continue;
    const kind = d.status === 'success' ? 'success' : d.status === 'failed' ? 'failed' : 'pending';
    buckets[i][kind] += 1;
    counted += 1;
  }
  const totals = buckets.reduce((a, b) => ({ success: a.success + b.success, failed: a.failed + b.failed, pending: a.pending + b.pending }), { success: 0, failed: 0, pending: 0 });
  return { buckets, totals, counted };
}

/** The stacked bars of the buckets, drawn at the width they are shown at (labels keep their size on a phone). */
function chartSvg(buckets, width, summaryId) {
  const W = Math.round(Math.min(960, Math.max(300, width || 720)));
  const g = { W, H: 180, padL: 32, padB: 24, padT: 8, max: Math.max(1, ...buckets.map((b) => b.success + b.failed + b.pending)) };
  g.bw = (W - g.padL) / buckets.length;
  g.y = (v) => g.padT + (g.H - g.padT - g.padB) * (1 - v / g.max);
  const { H, padL, max, y } = g;
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': summaryId },
    svg('line', { x1: padL, y1: y(0), x2: W, y2: y(0), class: 'axis' }),
    svg('line', { x1: padL, y1: y(max), x2: W, y2: y(max), class: 'grid' }),
    svg('text', { x: padL - 4, y: y(max) + 4, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: padL - 4, y: y(0) + 4, class: 'tick', 'text-anchor': 'end' }, '0'),
    buckets.map((b, i) => bucketBar(b, i, g)),
  );
}

/** One hour's bar: stacked success/failed/pending, a hover title, a tick every 6 hours. */
function bucketBar(b, i, { H, padL, padT, padB, bw, y }) {
  const x = padL + i * bw + 2;
  const width = Math.max(1, bw - 4);
  let top = y(0);
  const parts = [];
  for (const kind of ['success', 'failed', 'pending']) {
    if (!b[kind]) continue;
    const height = y(0) - y(b[kind]);
    top -= height;
    parts.push(svg('rect', { x, y: top, width, height, class: `bar bar-${kind}` }));
  }
  const label = `${String(b.start.getHours()).padStart(2, '0')}:00: ${b.success} succeeded, ${b.failed} failed, ${b.pending} pending`;
  const tick = i % 6 === 0 ? svg('text', { x: x + width / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, `${String(b.start.getHours()).padStart(2, '0')}:00`) : null;
  return svg('g', { class: 'bucket' }, svg('title', null, label), svg('rect', { x: padL + i * bw, y: padT, width: bw, height: H - padT - padB, class: 'hit' }), parts, tick);
}

// --- one delivery ----------------------------------------------------------------------------------

export async function delivery(screen, params, _query, ctx) {
  const id = Number(params.id);
  const did = params.delivery;
  const path = `/admin/webhooks/${id}/deliveries/${encodeURIComponent(did)}`;
  const [first, endpoint] = await Promise.all([api('GET', path), api('GET', `/admin/webhooks/${id}`).catch(() => null)]);
  let d = first;
  setTitle(`Delivery ${did}`);
  const redeliver = h('button', { type: 'button', class: 'btn btn-primary', id: 'redeliver' }, 'Redeliver');
  const progress = h('div', { role: 'status', 'aria-live': 'polite' });
  const body = h('div');
  screen.append(
    h('p', { class: 'crumbs' }, h('a', { href: `#/outgoing/${id}` }, `← ${endpoint ? endpoint.name : 'Endpoint'}`)),
    heading(`Delivery of ${d.event || 'event'}`, redeliver),
    progress,
    body,
  );

  const render = () => body.replaceChildren(...deliveryCards(d, did));
  render();

  const poll = async () => {
    // A redelivery may be queued: follow it until it settles (bounded).
    for (let i = 0; i < 20 && d.status === 'pending' && ctx.alive(); i++) {
      progress.replaceChildren(h('p', { class: 'loading' }, 'Waiting for the attempt to finish…'));
      await new Promise((r) => setTimeout(r, 1500));
      if (!ctx.alive()) return;
      try {
        d = await api('GET', path);
        render();
      } catch {
        break;
      }
    }
    progress.replaceChildren();
  };

  redeliver.addEventListener('click', async () => {
    const before = (d.attempts || []).length;
    try {
      const r = await withBusy(redeliver, 'Redelivering…', () => api('POST', `${path}/redeliver`));
      if (r && r.attempts) d = r;
      else d = await api('GET', path);
      render();
      toast(r && r.message ? r.message : 'Redelivery requested.');
      if ((d.attempts || []).length <= before && d.status !== 'pending') {
        d = await api('GET', path);
        render();
      }
      await poll();
    } catch (err) {
      if (err.status !== 401) progress.replaceChildren(errorBox(err));
    }
  });
  if (d.status === 'pending') poll();
}

/** The cards of one delivery: summary, the body sent, and its attempts (latest first). */
function deliveryCards(d, did) {
  const attempts = d.attempts || [];
  return [
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Summary'),
      facts([
        ['Status', badge(d.status)],
        ['Event', h('code', null, d.event || '')],
        ['Delivery ID', h('code', { class: 'break' }, String(d.id || did))],
        ['Event ID', d.event_id ? h('code', { class: 'break' }, String(d.event_id)) : ''],
        ['Content type', h('code', null, d.content_type || 'application/json')],
        ['Attempts', String(attempts.length)],
        ['Next attempt', d.next_attempt_at ? timeEl(d.next_attempt_at) : d.status === 'pending' ? 'scheduled' : 'none'],
      ]),
    ),
    h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Body sent'), copyButton(() => d.payload || '', 'Copy body')), h('pre', { class: 'code', id: 'payload', tabindex: '0' }, prettyJson(d.payload ?? ''))),
    h(
      'section',
      { class: 'card' },
      h('h2', null, `Attempts (${attempts.length})`),
      attempts.length === 0
        ? emptyState('No attempt yet.', 'The first attempt is made as soon as the dispatcher picks the event up; refresh in a moment.')
        : h('ol', { class: 'attempts' }, [...attempts].sort((a, b) => Number(b.attempt || 0) - Number(a.attempt || 0)).map(attemptItem)),
    ),
  ];
}

/** One attempt: outcome, timing, error, request headers and the response excerpt (open for the latest). */
function attemptItem(a, i) {
  return h(
    'li',
    { class: 'attempt' },
    h('h3', null, `Attempt ${a.attempt ?? ''} `, badge(a.response_code >= 200 && a.response_code < 300 && !a.error ? 'success' : 'failed')),
    facts([
      ['Attempted', timeEl(a.attempted_at)],
      ['Response code', a.response_code ? String(a.response_code) : 'no response'],
      ['Duration', a.response_time !== undefined && a.response_time !== null ? `${a.response_time} ms` : ''],
      ['Error', a.error ? h('span', { class: 'run-error' }, a.error) : ''],
    ]),
    h('details', null, h('summary', null, 'Request headers'), table(['Header', 'Value'], Object.entries(a.request_headers || {}).map(([k, v]) => [h('code', null, k), h('span', { class: 'mono break' }, String(v))]), 'Request headers')),
    h('details', { open: i === 0 }, h('summary', null, 'Response body (excerpt)'), h('pre', { class: 'code' }, a.response_body || '(empty)')),
  );
}
