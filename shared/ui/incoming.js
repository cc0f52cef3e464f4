// Incoming webhooks: list, create/edit, URL + curl example, rotate, activity log.

import { api, qs, h, loading, emptyState, field, showError, clearErrors, withBusy, toast, confirmDialog, timeEl, heading, setTitle, facts, badge, copyButton, multiSelect, pairsEditor, randomSecret, pagedTable, sinceEl } from './lib.js';
import { catalogItems, titleOf } from './catalog.js';
import { sourceSection, sampleCard, sourceOf } from './sources.js';

export async function list(screen) {
  setTitle('Incoming webhooks');
  const body = h('div', null, loading());
  screen.append(
    heading('Incoming webhooks', h('a', { class: 'btn btn-primary', href: '#/incoming/new' }, 'Add new webhook')),
    h('p', { class: 'lead' }, 'Each webhook has a secret URL. A CRM, payment processor or form tool POSTs an email to it; Switchboard finds or creates that member and adds or removes their spaces and courses.'),
    body,
  );
  await pagedTable(body, {
    path: (page) => `/admin/incoming-webhooks${qs(page)}`,
    key: 'webhooks',
    columns: ['Title', 'Status', 'Runs', 'Last run'],
    row: (w) => [h('a', { href: `#/incoming/${Number(w.id)}` }, w.title), badge(w.status), String(w.running_count ?? 0), sinceEl(w.last_run_at)],
    caption: 'Incoming webhooks',
    empty: () =>
      emptyState('No incoming webhooks yet.', 'Add one, choose the spaces and courses it grants, then paste its URL into your CRM, payment processor, Zapier or Make.', h('a', { class: 'btn btn-primary', href: '#/incoming/new' }, 'Add the first webhook')),
  })();
}

export async function create(screen) {
  setTitle('New incoming webhook');
  screen.append(h('p', { class: 'crumbs' }, h('a', { href: '#/incoming' }, '← Incoming webhooks')), heading('New incoming webhook'));
  const slot = h('div', null, loading('Loading spaces and courses…'));
  screen.append(slot);
  const form = await webhookForm(null);
  slot.replaceChildren(form);
}

export async function edit(screen, params) {
  const w = await api('GET', `/admin/incoming-webhooks/${Number(params.id)}`);
  setTitle(`Edit ${w.title}`);
  screen.append(h('p', { class: 'crumbs' }, h('a', { href: `#/incoming/${Number(w.id)}` }, `← ${w.title}`)), heading(`Edit “${w.title}”`));
  const slot = h('div', null, loading('Loading spaces and courses…'));
  screen.append(slot);
  slot.replaceChildren(await webhookForm(w));
}

async function webhookForm(w) {
  const [spaces, courses] = await Promise.all([catalogItems('spaces'), catalogItems('courses')]);
  const general = generalCard(w);
  const src = sourceSection(w);
  const targets = targetsCard(w, spaces, courses);
  const validation = validationCard(w);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, w ? 'Save changes' : 'Create webhook');
  const cancel = h('a', { class: 'btn', href: w ? `#/incoming/${Number(w.id)}` : '#/incoming' }, 'Cancel');
  const form = h('form', { class: 'form', novalidate: true }, general.el, src.el, targets.el, validation.el, h('p', { class: 'actions sticky-actions' }, submit, cancel));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { ...general.value(), ...targets.value(), ...validation.value() };
    try {
      Object.assign(body, src.value());
      const saved = await withBusy(submit, 'Saving…', () => (w ? api('PUT', `/admin/incoming-webhooks/${Number(w.id)}`, body) : api('POST', '/admin/incoming-webhooks', body)));
      toast(saved.message || 'Saved.');
      location.hash = `#/incoming/${Number(saved.id)}`;
    } catch (err) {
      if (err.status !== 401) showError(form, err);
    }
  });
  return form;
}

/** The "General" card: name, status and the welcome email. */
function generalCard(w) {
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: 200, value: w ? w.title : '', autocomplete: 'off', placeholder: 'e.g. Product purchase integration' });
  const status = h('select', { name: 'status' }, h('option', { value: 'active' }, 'Active: calls are executed'), h('option', { value: 'inactive' }, 'Inactive: calls are refused (423)'));
  status.value = w ? w.status : 'active';
  const welcome = h('input', { type: 'checkbox', name: 'send_wp_welcome_email', checked: w ? !!w.send_wp_welcome_email : false });
  welcome.id = 'incoming-welcome';
  const el = h(
    'section',
    { class: 'card' },
    h('h2', null, 'General'),
    field({ label: 'Webhook name', name: 'title', control: title, hint: 'For your reference only.' }),
    field({ label: 'Status', name: 'status', control: status }),
    h(
      'div',
      { class: 'field check', dataset: { field: 'send_wp_welcome_email' } },
      welcome,
      h('label', { for: welcome.id }, 'Send the welcome email to members this webhook creates'),
      h('p', { class: 'hint' }, 'Existing members never receive it.'),
      h('p', { class: 'field-error', hidden: true }),
    ),
  );
  return { el, value: () => ({ title: title.value, status: status.value, send_wp_welcome_email: welcome.checked }) };
}

/** The "Spaces and courses" card: what a run adds and removes. */
function targetsCard(w, spaces, courses) {
  const noSpaces = h('a', { href: '#/spaces' }, 'Create a space first.');
  const noCourses = h('a', { href: '#/courses' }, 'Create a course first.');
  const addSpaces = multiSelect({ items: spaces, selected: w ? w.space_ids : [], noun: 'Space', emptyText: 'There are no spaces yet.', emptyAction: noSpaces });
  const removeSpaces = multiSelect({ items: spaces, selected: w ? w.remove_space_ids : [], noun: 'Space', emptyText: 'There are no spaces yet.' });
  const addCourses = multiSelect({ items: courses, selected: w ? w.course_ids : [], noun: 'Course', emptyText: 'There are no courses yet.', emptyAction: noCourses });
  const removeCourses = multiSelect({ items: courses, selected: w ? w.remove_course_ids : [], noun: 'Course', emptyText: 'There are no courses yet.' });
  const el = h(
    'section',
    { class: 'card' },
    h('h2', null, 'Spaces and courses'),
    h('p', { class: 'hint' }, 'Removals run before additions. A space or course that no longer exists is skipped.'),
    h(
      'div',
      { class: 'grid2' },
      field({ label: 'Add to spaces', name: 'space_ids', control: addSpaces.el, group: true }),
      field({ label: 'Remove from spaces', name: 'remove_space_ids', control: removeSpaces.el, group: true }),
      field({ label: 'Add to courses', name: 'course_ids', control: addCourses.el, group: true }),
      field({ label: 'Remove from courses', name: 'remove_course_ids', control: removeCourses.el, group: true }),
    ),
  );
  return {
    el,
    value: () => ({ space_ids: addSpaces.value(), remove_space_ids: removeSpaces.value(), course_ids: addCourses.value(), remove_course_ids: removeCourses.value() }),
  };
}

/** The "Validation rules" card: allowed IPs, the signing secret and the field map. */
function validationCard(w) {
  const ips = h('textarea', { name: 'allowed_ips', rows: 3, spellcheck: 'false', placeholder: '203.0.113.0/24\n2001:db8::/32' }, w ? (w.allowed_ips || []).join('\n') : '');
  const secret = h('input', { type: 'text', name: 'signing_secret', autocomplete: 'off', spellcheck: 'false', maxlength: 256, placeholder: w && w.signing_secret_set ? 'Leave empty to keep the current secret' : 'Optional, 16 to 256 characters' });
  const generate = h('button', { type: 'button', class: 'btn btn-small' }, 'Generate');
  generate.addEventListener('click', () => {
    secret.value = randomSecret();
    secret.focus();
    secret.select();
  });
  let clearSecret = null;
  if (w && w.signing_secret_set) {
    clearSecret = h('input', { type: 'checkbox', name: 'clear_signing_secret' });
    clearSecret.id = 'incoming-clear-secret';
  }
  const fieldMap = pairsEditor({ pairs: w ? w.field_map : {}, keyLabel: 'Payload field', valueLabel: 'Profile meta key', addLabel: 'Add a field mapping', keyPlaceholder: 'company', valuePlaceholder: 'company_name' });
  const expectHours = h('input', { type: 'number', name: 'expect_every_hours', min: 1, max: 720, step: 1, inputmode: 'numeric', placeholder: 'Off', value: w && w.expect_every_hours ? String(w.expect_every_hours) : '' });
  const el = h(
    'section',
    { class: 'card' },
    h('h2', null, 'Validation rules'),
    field({ label: 'Allowed IP addresses', name: 'allowed_ips', control: ips, hint: 'One address or CIDR range per line. Empty: calls from any address are accepted.' }),
    h(
      'div',
      { class: 'field', dataset: { field: 'signing_secret' } },
      h('label', { for: (secret.id = 'incoming-secret') }, 'Signing secret'),
      h('p', { class: 'hint', id: 'incoming-secret-hint' }, w && w.signing_secret_set ? 'A signing secret is set. Callers must send X-Webhook-Signature: sha256=<HMAC-SHA256 of the raw body>. Type a new one to replace it.' : 'When set, callers must send X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body> (or Standard Webhooks headers).'),
      h('div', { class: 'inline' }, secret, generate),
      clearSecret ? h('p', { class: 'check' }, clearSecret, h('label', { for: clearSecret.id }, 'Remove the signing secret')) : null,
      h('p', { class: 'field-error', id: 'incoming-secret-err', hidden: true }),
    ),
    field({ label: 'Field map', name: 'field_map', control: fieldMap.el, group: true, hint: 'Optional: store extra payload fields on a new member’s profile, under the meta key you choose.' }),
    field({ label: 'Silence alert after (hours)', name: 'expect_every_hours', control: expectHours, hint: '1 to 720. When no call is accepted for that long, the operator gets one email and an incoming_webhook.silent event; incoming_webhook.resumed follows when calls resume. Empty: off.' }),
  );
  secret.setAttribute('aria-describedby', 'incoming-secret-hint incoming-secret-err');
  const value = () => {
    const out = { allowed_ips: ips.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean), field_map: fieldMap.value(), expect_every_hours: expectHours.value.trim() === '' ? null : Number(expectHours.value) };
    if (clearSecret && clearSecret.checked) out.signing_secret = null;
    else if (secret.value !== '') out.signing_secret = secret.value;
    return out;
  };
  return { el, value };
}

/** The seed's curl example, ready to paste. */
export function curlExample(url, signed) {
  const lines = [
    'curl --request POST \\',
    `  --url '${url}' \\`,
    "  --header 'Content-Type: multipart/form-data' \\",
    '  --form email=user@example.com \\',
    '  --form first_name=John \\',
    '  --form last_name=Doe \\',
    '  --form user_login=johndoe \\',
    '  --form user_pass=SecurePassword123',
  ];
  if (signed) {
    return [
      "# This webhook requires a signature: sign the exact body you send.",
      "body='email=user@example.com&first_name=John&last_name=Doe'",
      'sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "$SIGNING_SECRET" -r | cut -d" " -f1)',
      'curl --request POST \\',
      `  --url '${url}' \\`,
      "  --header 'Content-Type: application/x-www-form-urlencoded' \\",
      '  --header "X-Webhook-Signature: sha256=$sig" \\',
      '  --data "$body"',
    ].join('\n');
  }
  return lines.join('\n');
}

function idList(ids, items, noun) {
  if (!ids || ids.length === 0) return '';
  return h(
    'ul',
    { class: 'chips' },
    ids.map((id) => h('li', null, h('a', { href: `#/${noun === 'Space' ? 'spaces' : 'courses'}/${Number(id)}` }, titleOf(items, id, noun)))),
  );
}

function changeText(o, items, noun) {
  if (!o) return '';
  const parts = [];
  const name = (id) => titleOf(items, id, noun);
  if (o.added && o.added.length) parts.push(h('span', { class: 'ok' }, `+ ${o.added.map(name).join(', ')}`));
  if (o.removed && o.removed.length) parts.push(h('span', { class: 'warn' }, `− ${o.removed.map(name).join(', ')}`));
  if (o.skipped && o.skipped.length) parts.push(h('span', { class: 'muted' }, `skipped ${o.skipped.map((id) => `#${id}`).join(', ')}`));
  if (parts.length === 0) return h('span', { class: 'muted' }, 'no change');
  return h('span', { class: 'changes' }, parts.map((p) => [p, ' ']));
}

export async function detail(screen, params) {
  const id = Number(params.id);
  let w = await api('GET', `/admin/incoming-webhooks/${id}`);
  const [spaces, courses] = await Promise.all([catalogItems('spaces').catch(() => []), catalogItems('courses').catch(() => [])]);
  setTitle(w.title);

  const url = urlCard();
  const rotate = h('button', { type: 'button', class: 'btn btn-warn' }, 'Rotate URL');
  const del = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete');
  const headingEl = heading(w.title, h('a', { class: 'btn', href: `#/incoming/${id}/edit` }, 'Edit'), rotate, del);
  const configSlot = h('div');
  const renderMeta = () => {
    url.render(w);
    configSlot.replaceChildren(facts(configFacts(w, spaces, courses)));
  };
  onRotate(rotate, id, (rotated) => {
    w = rotated;
    renderMeta();
    toast(w.message || 'The URL was rotated.');
    url.focus();
  });
  onDelete(del, id, () => w.title);

  const runsBody = h('div', null, loading());
  const refresh = h('button', { type: 'button', class: 'btn btn-small' }, 'Refresh');
  screen.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/incoming' }, '← Incoming webhooks')),
    headingEl,
    url.el,
    w.source && w.source !== 'form' ? sampleCard(w, () => load()) : null,
    h('section', { class: 'card' }, h('h2', null, 'Configuration'), configSlot),
    h('section', { class: 'card', 'aria-labelledby': 'runs-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'runs-title' }, 'Activity log'), refresh), runsBody),
  );
  renderMeta();

  const load = runsTable(runsBody, id, spaces, courses);
  refresh.addEventListener('click', async () => {
    await withBusy(refresh, 'Refreshing…', async () => {
      try {
        w = await api('GET', `/admin/incoming-webhooks/${id}`);
        renderMeta();
      } catch {
        // the log reload below reports errors
      }
      await load();
    });
  });
  await load();
}

/** The "Webhook URL" card: the URL, its status and the curl example; `render(w)` fills them. */
function urlCard() {
  const urlInput = h('input', { type: 'text', readonly: true, value: '', id: 'webhook-url', class: 'mono', spellcheck: 'false' });
  urlInput.addEventListener('focus', () => urlInput.select());
  const curl = h('pre', { class: 'code', id: 'curl-example', tabindex: '0', 'aria-label': 'curl example' });
  const statusSlot = h('span');
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'url-title' },
    h('h2', { id: 'url-title' }, 'Webhook URL ', statusSlot),
    h('p', { class: 'alert alert-warn' }, 'Treat this URL as a password: anyone who has it can create members and change their spaces and courses. Rotate it if it leaks.'),
    h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'POST to this URL'), h('div', { class: 'inline' }, urlInput, copyButton(() => urlInput.value, 'Copy URL', { id: 'copy-url' }))),
    h('h3', null, 'Example request'),
    h('p', { class: 'hint' }, 'Only email is required; the other fields are used when a new member is created. multipart/form-data, x-www-form-urlencoded and JSON bodies are accepted.'),
    curl,
    h('p', null, copyButton(() => curl.textContent, 'Copy curl example', { id: 'copy-curl' })),
  );
  const render = (w) => {
    urlInput.value = w.webhook_url;
    curl.textContent = curlExample(w.webhook_url, w.signing_secret_set);
    statusSlot.replaceChildren(badge(w.status));
  };
  return { el, render, focus: () => urlInput.focus() };
}

/** The facts of the "Configuration" card. */
function configFacts(w, spaces, courses) {
  const provider = w.source && w.source !== 'form';
  return [
    ['Status', badge(w.status)],
    ['Source', sourceOf(w.source).label],
    provider ? ['Provider secret', w.source_secret_set ? 'Set (calls must be signed)' : sourceOf(w.source).signed ? 'Not set: calls are refused (403)' : 'None: this provider does not sign'] : null,
    provider ? ['Rules', (w.rules || []).map((r) => `${r.event}${r.status ? ` (${r.status})` : ''} → ${r.action}${r.access ? ` for ${r.access === 'period_end' ? 'the period' : `${r.access.days} days`}` : ''}`).join('; ') || 'none'] : null,
    ['Add to spaces', idList(w.space_ids, spaces, 'Space')],
    ['Remove from spaces', idList(w.remove_space_ids, spaces, 'Space')],
    ['Add to courses', idList(w.course_ids, courses, 'Course')],
    ['Remove from courses', idList(w.remove_course_ids, courses, 'Course')],
    ['Welcome email', w.send_wp_welcome_email ? 'Sent to members this webhook creates' : 'Not sent'],
    ['Allowed IPs', (w.allowed_ips || []).length ? (w.allowed_ips || []).join(', ') : 'Any address'],
    ['Signing secret', w.signing_secret_set ? 'Set (calls must be signed)' : 'Not set'],
    Object.keys(w.field_map || {}).length ? ['Field map', Object.entries(w.field_map).map(([k, v]) => `${k} → ${v}`).join(', ')] : null,
    ['Silence alert', w.expect_every_hours ? `After ${w.expect_every_hours} hours without an accepted call` : 'Off'],
    ['Runs', String(w.running_count ?? 0)],
    ['Last run', timeEl(w.last_run_at, 'never')],
    ['Created', timeEl(w.created_at)],
    ['Updated', timeEl(w.updated_at)],
  ];
}

/** "Rotate URL": confirms, rotates and hands the rotated webhook to `onRotated`. */
function onRotate(rotate, id, onRotated) {
  rotate.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Rotate the webhook URL?',
      body: ['A new secret URL is generated and the current URL stops working immediately: calls to it get 404.', 'Update every integration (CRM, payment processor, Zapier, Make…) with the new URL.'],
      confirmLabel: 'Rotate URL',
      danger: true,
    });
    if (!ok) return;
    try {
      onRotated(await withBusy(rotate, 'Rotating…', () => api('POST', `/admin/incoming-webhooks/${id}/rotate`)));
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
}

/** "Delete": confirms, deletes and goes back to the list. */
function onDelete(del, id, title) {
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Delete “${title()}”?`,
      body: ['Its URL stops working immediately and its activity log is removed. Members it added keep their spaces and courses.', 'This cannot be undone.'],
      confirmLabel: 'Delete webhook',
      danger: true,
    });
    if (!ok) return;
    try {
      await withBusy(del, 'Deleting…', () => api('DELETE', `/admin/incoming-webhooks/${id}`));
      toast('Incoming webhook deleted.');
      location.hash = '#/incoming';
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
}

/** The activity log of a webhook: returns its loader. */
function runsTable(runsBody, id, spaces, courses) {
  return pagedTable(runsBody, {
    path: (page) => `/admin/incoming-webhooks/${id}/runs${qs(page)}`,
    key: 'runs',
    columns: ['Time', 'Email', 'Outcome', 'Member', 'Spaces', 'Courses', 'Welcome email', 'Source IP'],
    row: (run) => [
      timeEl(run.time),
      run.email || h('span', { class: 'muted' }, '—'),
      h('span', null, badge(run.outcome), ' ', h('span', { class: 'muted' }, String(run.status_code ?? '')), run.error ? h('span', { class: 'run-error' }, run.error) : null),
      run.user_id ? h('span', null, h('a', { href: `#/members/${Number(run.user_id)}` }, `#${run.user_id}`), run.created ? h('span', { class: 'tag' }, 'new') : null) : h('span', { class: 'muted' }, '—'),
      changeText(run.spaces, spaces, 'Space'),
      changeText(run.courses, courses, 'Course'),
      run.welcome_email || h('span', { class: 'muted' }, '—'),
      run.source_ip || h('span', { class: 'muted' }, '—'),
    ],
    caption: 'Activity log',
    empty: () => emptyState('No calls yet.', 'POST an email to the URL above (the curl example works as is) and each run shows up here with what it changed.'),
  });
}
