// Application passwords: named, scoped, revocable credentials for integrations
// (docs/reference/security.md).

import { api, qs, h, emptyState, field, showError, clearErrors, withBusy, toast, confirmDialog, timeEl, heading, setTitle, pagedTable, copyButton } from './lib.js';

const SCOPES = [
  ['publish', 'publish — only POST /admin/events (for the community platform)'],
  ['read', 'read — GET requests only'],
  ['admin', 'admin — everything the operator can do'],
];

function createForm(onCreated) {
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 60, autocomplete: 'off', spellcheck: 'false' });
  const scope = h('select', { name: 'scope' }, ...SCOPES.map(([v, label]) => h('option', { value: v }, label)));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create password');
  const form = h(
    'form',
    { class: 'form', novalidate: true },
    field({ label: 'Name', name: 'name', control: name, hint: 'The user name the integration signs in with: letters, digits, spaces, “.”, “_” and “-”.' }),
    field({ label: 'Scope', name: 'scope', control: scope }),
    h('p', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      const created = await withBusy(submit, 'Creating…', () => api('POST', '/admin/app-passwords', { name: name.value, scope: scope.value }));
      name.value = '';
      onCreated(created);
    } catch (err) {
      if (err.status !== 401) showError(form, err);
    }
  });
  return form;
}

/** The new password, shown once with a copy button and a curl example. */
function revealed(created) {
  const value = h('input', { type: 'text', id: 'new-app-password-value', readonly: true, value: created.password, class: 'mono', spellcheck: 'false', 'aria-label': `Password of ${created.name}` });
  const example = `curl -u '${created.name}:${created.password}' ${location.origin}${location.pathname.replace(/\/admin\/ui(?:\/.*)?$/, '')}/admin/event-types`;
  return h(
    'section',
    { class: 'card', role: 'status', 'aria-labelledby': 'new-app-password-title' },
    h('h2', { id: 'new-app-password-title' }, `Password of “${created.name}” (${created.scope})`),
    h('p', { class: 'alert alert-warn' }, 'Copy it now: it is not shown again. Sign in with HTTP Basic as the name and this password.'),
    h('div', { class: 'inline' }, value, copyButton(() => created.password, 'Copy password', { id: 'copy-app-password' })),
    h('pre', { class: 'code' }, example),
  );
}

export async function list(screen) {
  setTitle('Application passwords');
  const slot = h('div');
  const body = h('div');
  const formCard = h('section', { class: 'card', 'aria-labelledby': 'new-app-password' }, h('h2', { id: 'new-app-password' }, 'New application password'));
  screen.append(
    heading('Application passwords'),
    h('p', { class: 'lead' }, 'Named credentials for integrations, each limited to a scope and revocable at once, so integrations never hold the operator’s password.'),
    slot,
    formCard,
    body,
  );
  const refresh = pagedTable(body, {
    path: (page) => `/admin/app-passwords${qs(page)}`,
    key: 'app_passwords',
    columns: ['Name', 'Scope', 'Created', 'Last used', ''],
    row: (p) => [p.name, h('code', null, p.scope), timeEl(p.created_at), timeEl(p.last_used_at, 'never'), revokeButton(p, () => refresh())],
    caption: 'Application passwords',
    empty: () => emptyState('No application passwords yet.', 'Create one for each integration, with the narrowest scope it needs (publish for the platform that publishes events).'),
  });
  formCard.append(
    createForm((created) => {
      slot.replaceChildren(revealed(created));
      toast(`Application password “${created.name}” created.`);
      refresh();
      slot.querySelector('input').focus();
    }),
  );
  await refresh();
}

function revokeButton(p, after) {
  const b = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke ${p.name}` }, 'Revoke');
  b.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Revoke “${p.name}”?`,
      body: ['Requests signed in with this password are refused from now on.', 'This cannot be undone.'],
      confirmLabel: 'Revoke',
      danger: true,
    });
    if (!ok) return;
    try {
      await withBusy(b, 'Revoking…', () => api('DELETE', `/admin/app-passwords/${Number(p.id)}`));
      toast(`“${p.name}” revoked.`);
      after();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
  return b;
}
