// Spaces and courses: list, create, edit, delete; members and enrollments.

import { api, qs, listAll, h, loading, emptyState, field, showError, clearErrors, withBusy, toast, confirmDialog, timeEl, heading, setTitle, facts, pagedTable } from './lib.js';

const KINDS = {
  spaces: { noun: 'Space', plural: 'Spaces', members: 'members', memberNoun: 'Members', eventful: true },
  courses: { noun: 'Course', plural: 'Courses', members: 'enrollments', memberNoun: 'Enrollments', eventful: false },
};

// Titles of spaces and courses, for the screens that show ids (cached until a change).
const cache = { spaces: null, courses: null };

export function catalogItems(kind) {
  if (!cache[kind]) {
    cache[kind] = listAll(`/admin/${kind}`, kind).catch((e) => {
      cache[kind] = null;
      throw e;
    });
  }
  return cache[kind];
}

export function forgetCatalog(kind) {
  cache[kind] = null;
}

/** `Title` for an id, or `Space #id` when unknown. */
export function titleOf(items, id, noun) {
  const item = items.find((i) => Number(i.id) === Number(id));
  return item ? item.title : `${noun} #${id}`;
}

export function originText(m) {
  if (m.incoming_webhook_id) return h('a', { href: `#/incoming/${Number(m.incoming_webhook_id)}` }, `incoming webhook #${m.incoming_webhook_id}`);
  return m.origin || '';
}

function entryForm(kind, entry, onSaved) {
  const k = KINDS[kind];
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: 200, value: entry ? entry.title : '', autocomplete: 'off' });
  const slug = h('input', { type: 'text', name: 'slug', maxlength: 80, value: entry ? entry.slug : '', autocomplete: 'off', spellcheck: 'false', pattern: '[a-z0-9-]+' });
  const description = h('textarea', { name: 'description', rows: 3, maxlength: 2000 }, entry ? entry.description || '' : '');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, entry ? 'Save changes' : `Create ${k.noun.toLowerCase()}`);
  const form = h(
    'form',
    { class: 'form', novalidate: true },
    field({ label: 'Title', name: 'title', control: title }),
    field({ label: 'Slug', name: 'slug', control: slug, hint: entry ? 'Lower-case letters, digits and hyphens.' : 'Optional: derived from the title when empty. Lower-case letters, digits and hyphens.' }),
    field({ label: 'Description', name: 'description', control: description, hint: 'Optional.' }),
    h('p', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { title: title.value, description: description.value };
    if (slug.value.trim() || entry) body.slug = slug.value.trim();
    if (entry && !body.slug) delete body.slug;
    try {
      const saved = await withBusy(submit, 'Saving…', () => (entry ? api('PUT', `/admin/${kind}/${entry.id}`, body) : api('POST', `/admin/${kind}`, body)));
      forgetCatalog(kind);
      toast(saved.message || `${k.noun} saved.`);
      onSaved(saved);
    } catch (err) {
      if (err.status !== 401) showError(form, err);
    }
  });
  return form;
}

export function list(kind) {
  const k = KINDS[kind];
  return async (screen) => {
    setTitle(k.plural);
    const newButton = h('button', { type: 'button', class: 'btn btn-primary', 'aria-expanded': 'false' }, `New ${k.noun.toLowerCase()}`);
    const formSlot = h('section', { class: 'card', hidden: true, 'aria-label': `New ${k.noun.toLowerCase()}` });
    const body = h('div', null, loading());
    screen.append(
      heading(k.plural, newButton),
      h('p', { class: 'lead' }, kind === 'spaces' ? 'Spaces that incoming webhooks add members to and remove them from.' : 'Courses that incoming webhooks enroll members in and remove them from.'),
      formSlot,
      body,
    );
    const openForm = () => {
      formSlot.hidden = false;
      newButton.setAttribute('aria-expanded', 'true');
      formSlot.replaceChildren(
        h('h2', null, `New ${k.noun.toLowerCase()}`),
        entryForm(kind, null, (saved) => {
          location.hash = `#/${kind}/${saved.id}`;
        }),
      );
      formSlot.querySelector('input').focus();
    };
    newButton.addEventListener('click', () => {
      if (formSlot.hidden) openForm();
      else {
        formSlot.hidden = true;
        newButton.setAttribute('aria-expanded', 'false');
      }
    });
    await pagedTable(body, {
      path: (page) => `/admin/${kind}${qs(page)}`,
      key: kind,
      columns: ['Title', 'Slug', 'ID', 'Created'],
      row: (e) => [h('a', { href: `#/${kind}/${Number(e.id)}` }, e.title), h('code', null, e.slug), String(e.id), timeEl(e.created_at)],
      caption: k.plural,
      empty: () => {
        const create = h('button', { type: 'button', class: 'btn btn-primary', onclick: openForm }, `Create the first ${k.noun.toLowerCase()}`);
        return emptyState(`No ${kind} yet.`, `Create a ${k.noun.toLowerCase()}, then pick it in an incoming webhook's “Add to ${kind}” list to give people access automatically.`, create);
      },
    })();
  };
}

export function detail(kind) {
  const k = KINDS[kind];
  return async (screen, params) => {
    const id = Number(params.id);
    const entry = await api('GET', `/admin/${kind}/${id}`);
    setTitle(entry.title);
    const del = h('button', { type: 'button', class: 'btn btn-danger' }, `Delete ${k.noun.toLowerCase()}`);
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete “${entry.title}”?`,
        body: [`The ${k.noun.toLowerCase()} is removed. Incoming webhooks that list it skip it from now on (their runs report it under “skipped”).`, 'This cannot be undone.'],
        confirmLabel: 'Delete',
        danger: true,
      });
      if (!ok) return;
      try {
        await withBusy(del, 'Deleting…', () => api('DELETE', `/admin/${kind}/${id}`));
        forgetCatalog(kind);
        toast(`${k.noun} deleted.`);
        location.hash = `#/${kind}`;
      } catch (err) {
        if (err.status !== 401) toast(err.message, 'error');
      }
    });
    const info = h('div');
    const renderInfo = (e) => info.replaceChildren(facts([['ID', String(e.id)], ['Slug', h('code', null, e.slug)], ['Description', e.description], ['Created', timeEl(e.created_at)], ['Updated', timeEl(e.updated_at)]]));
    renderInfo(entry);
    const titleEl = heading(entry.title, del);
    const editCard = h('section', { class: 'card', 'aria-labelledby': `edit-${kind}` }, h('h2', { id: `edit-${kind}` }, 'Edit'));
    editCard.append(
      entryForm(kind, entry, (saved) => {
        titleEl.querySelector('h1').textContent = saved.title;
        setTitle(saved.title);
        Object.assign(entry, saved);
        renderInfo(saved);
      }),
    );
    const membersBody = h('div', null, loading());
    screen.append(
      h('p', { class: 'crumbs' }, h('a', { href: `#/${kind}` }, `← ${k.plural}`)),
      titleEl,
      h('section', { class: 'card' }, h('h2', null, 'Details'), info),
      editCard,
      h('section', { class: 'card', 'aria-labelledby': `members-${kind}` }, h('h2', { id: `members-${kind}` }, k.memberNoun), membersBody),
    );
    await pagedTable(membersBody, {
      path: (page) => `/admin/${kind}/${id}/${k.members}${qs(page)}`,
      key: k.members,
      columns: ['Email', 'User ID', 'Origin', 'Since'],
      row: (m) => [h('a', { href: `#/members/${Number(m.user_id)}` }, m.email || `user #${m.user_id}`), String(m.user_id), originText(m), timeEl(m.created_at)],
      caption: k.memberNoun,
      empty: () =>
        emptyState(
          kind === 'spaces' ? 'Nobody is a member yet.' : 'Nobody is enrolled yet.',
          `Members join when an incoming webhook that lists this ${k.noun.toLowerCase()} under “Add to ${kind}” is called with their email.`,
          h('a', { class: 'btn', href: '#/incoming' }, 'Go to incoming webhooks'),
        ),
    })();
  };
}
