// Members: look up by email (profile, spaces, courses), and the list of every member.

import { api, qs, h, loading, emptyState, table, field, showError, clearErrors, withBusy, timeEl, heading, setTitle, facts, badge, pagedTable } from './lib.js';
import { catalogItems, titleOf, originText } from './catalog.js';

export async function lookup(screen, _params, query) {
  setTitle('Members');
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'user@example.com', value: query.get('email') || '' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Look up');
  const form = h('form', { class: 'form lookup', role: 'search', novalidate: true }, field({ label: 'Email address', name: 'email', control: email, hint: 'Matched case-insensitively.' }), h('p', { class: 'actions' }, submit));
  const result = h('div', { 'aria-live': 'polite' });
  const all = h('div', null, loading());
  screen.append(
    heading('Members'),
    h('p', { class: 'lead' }, 'Members are created by incoming webhooks. Look one up to see their profile, spaces and courses.'),
    h('section', { class: 'card' }, form, result),
    h('section', { class: 'card', 'aria-labelledby': 'all-members' }, h('h2', { id: 'all-members' }, 'All members'), all),
  );

  const search = async () => {
    clearErrors(form);
    const value = email.value.trim();
    if (!value) {
      showError(form, { message: 'Enter an email address.', field: 'email' });
      return;
    }
    if (location.hash !== `#/members?email=${encodeURIComponent(value)}`) history.replaceState(null, '', `#/members?email=${encodeURIComponent(value)}`);
    try {
      const r = await withBusy(submit, 'Looking up…', () => api('GET', `/admin/users${qs({ email: value })}`));
      const users = r.users || [];
      if (users.length === 0) {
        result.replaceChildren(emptyState(`No member has the email ${value}.`, 'Members are created the first time an incoming webhook is called with their email. Check the address, or look at the activity log of the webhook that should have created them.', h('a', { class: 'btn', href: '#/incoming' }, 'Go to incoming webhooks')));
        return;
      }
      result.replaceChildren(await profile(users[0]));
    } catch (err) {
      if (err.status !== 401) showError(form, err);
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });

  const loadAll = pagedTable(all, {
    path: (page) => `/admin/users${qs(page)}`,
    key: 'users',
    columns: ['Email', 'Name', 'Username', 'Status', 'Joined'],
    row: (u) => [h('a', { href: `#/members/${Number(u.user_id)}` }, u.email), u.display_name || '', u.username || '', badge(u.status || 'active'), timeEl(u.created_at)],
    caption: 'All members',
    empty: () => emptyState('No members yet.', 'They appear when an incoming webhook is called with an email address.', h('a', { class: 'btn', href: '#/incoming' }, 'Set up an incoming webhook')),
  });
  const pending = [loadAll()];
  if (email.value) pending.push(search());
  await Promise.all(pending);
}

export async function detail(screen, params) {
  const u = await api('GET', `/admin/users/${Number(params.id)}`);
  setTitle(u.email);
  screen.append(h('p', { class: 'crumbs' }, h('a', { href: '#/members' }, '← Members')), heading(u.display_name || u.email), await profile(u));
}

async function profile(u) {
  const [spaces, courses] = await Promise.all([catalogItems('spaces').catch(() => []), catalogItems('courses').catch(() => [])]);
  const meta = u.meta && typeof u.meta === 'object' ? Object.entries(u.meta) : [];
  const memberships = (list, items, noun, kind) =>
    (list || []).length === 0
      ? emptyState(`Not in any ${noun.toLowerCase()}.`, `An incoming webhook that lists a ${noun.toLowerCase()} under “Add to ${kind}” adds them when it is called with this email.`)
      : table(
          [noun, 'Origin', 'Since'],
          list.map((m) => {
            const mid = m.space_id ?? m.course_id;
            return [h('a', { href: `#/${kind}/${Number(mid)}` }, titleOf(items, mid, noun)), originText(m), timeEl(m.created_at)];
          }),
          kind,
        );
  return h(
    'div',
    { class: 'profile' },
    h(
      'section',
      { class: 'card' },
      h('h2', null, 'Profile'),
      facts([
        ['User ID', String(u.user_id)],
        ['Email', u.email],
        ['Username', u.username],
        ['Display name', u.display_name],
        ['First name', u.first_name],
        ['Last name', u.last_name],
        ['Role', u.role],
        ['Status', u.status ? badge(u.status) : ''],
        ['Joined', timeEl(u.created_at)],
        meta.length ? ['Profile meta', h('ul', { class: 'plain' }, meta.map(([k, v]) => h('li', null, h('code', null, k), ': ', typeof v === 'string' ? v : JSON.stringify(v))))] : null,
      ]),
    ),
    h('div', { class: 'grid2' }, h('section', { class: 'card' }, h('h2', null, 'Spaces'), memberships(u.spaces, spaces, 'Space', 'spaces')), h('section', { class: 'card' }, h('h2', null, 'Courses'), memberships(u.courses, courses, 'Course', 'courses'))),
  );
}
