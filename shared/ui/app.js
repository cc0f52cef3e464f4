// Entry point: sign-in, navigation and the hash router.

import { api, credential, storeCredential, forgetCredential, signedInUser, onUnauthorized, ApiError, h, errorBox, setTitle } from './lib.js';
import * as incoming from './incoming.js';
import * as outgoing from './outgoing.js';
import * as catalog from './catalog.js';
import * as members from './members.js';
import * as access from './access.js';

const view = document.getElementById('view');
const signin = document.getElementById('signin');
const nav = document.getElementById('nav');
const account = document.getElementById('account');

// [pattern, screen, nav section]. Patterns match the hash path split on '/'.
const routes = [
  [['incoming'], incoming.list, 'incoming'],
  [['incoming', 'new'], incoming.create, 'incoming'],
  [['incoming', ':id'], incoming.detail, 'incoming'],
  [['incoming', ':id', 'edit'], incoming.edit, 'incoming'],
  [['outgoing'], outgoing.list, 'outgoing'],
  [['outgoing', 'new'], outgoing.create, 'outgoing'],
  [['outgoing', ':id'], outgoing.detail, 'outgoing'],
  [['outgoing', ':id', 'edit'], outgoing.edit, 'outgoing'],
  [['outgoing', ':id', 'deliveries', ':delivery'], outgoing.delivery, 'outgoing'],
  [['spaces'], catalog.list('spaces'), 'spaces'],
  [['spaces', ':id'], catalog.detail('spaces'), 'spaces'],
  [['courses'], catalog.list('courses'), 'courses'],
  [['courses', ':id'], catalog.detail('courses'), 'courses'],
  [['members'], members.lookup, 'members'],
  [['members', ':id'], members.detail, 'members'],
  [['access'], access.list, 'access'],
];

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function match(parts) {
  for (const [pattern, screen, section] of routes) {
    if (pattern.length !== parts.length) continue;
    const params = {};
    let ok = true;
    pattern.forEach((seg, i) => {
      if (seg.startsWith(':')) params[seg.slice(1)] = parts[i];
      else if (seg !== parts[i]) ok = false;
    });
    if (ok) return { screen, section, params };
  }
  return null;
}

let generation = 0;

async function render() {
  if (!credential()) {
    showSignIn();
    return;
  }
  showApp();
  const { parts, query } = parseHash();
  if (parts.length === 0) {
    location.replace('#/incoming');
    return;
  }
  const found = match(parts);
  for (const a of nav.querySelectorAll('a')) {
    if (found && a.dataset.nav === found.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  generation += 1;
  const mine = generation;
  // Each screen renders into its own container; navigating away detaches it, so late
  // answers of a previous screen never land on the new one.
  const screen = h('div', { class: 'screen' });
  view.replaceChildren(screen);
  if (!found) {
    setTitle('Not found');
    screen.append(h('h1', { tabindex: '-1' }, 'Page not found'), h('p', null, 'This address does not exist. ', h('a', { href: '#/incoming' }, 'Go to the incoming webhooks.')));
    focusHeading(screen);
    return;
  }
  try {
    await found.screen(screen, found.params, query, { alive: () => mine === generation && screen.isConnected });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    screen.append(errorBox(err, () => render()));
  }
  if (mine === generation) focusHeading(screen);
}

function focusHeading(screen) {
  const h1 = screen.querySelector('h1');
  if (h1 && !screen.contains(document.activeElement)) h1.focus({ preventScroll: true });
}

function showSignIn(reason) {
  nav.hidden = true;
  account.hidden = true;
  view.replaceChildren();
  signin.hidden = false;
  setTitle('Sign in');
  const r = document.getElementById('signin-reason');
  r.hidden = !reason;
  r.textContent = reason || '';
  const user = document.getElementById('signin-user');
  if (!user.value) user.value = signedInUser();
  (user.value ? document.getElementById('signin-password') : user).focus();
}

function showApp() {
  signin.hidden = true;
  nav.hidden = false;
  account.hidden = false;
  document.getElementById('account-user').textContent = signedInUser();
}

onUnauthorized(() => {
  forgetCredential();
  showSignIn('Your credentials were refused (they may have changed, or the session ended). Sign in again.');
});

document.getElementById('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = document.getElementById('signin-user');
  const password = document.getElementById('signin-password');
  const error = document.getElementById('signin-error');
  const button = document.getElementById('signin-submit');
  error.hidden = true;
  password.removeAttribute('aria-invalid');
  if (!user.value || !password.value) {
    error.textContent = 'Enter the username and the password.';
    error.hidden = false;
    (user.value ? password : user).focus();
    return;
  }
  storeCredential(user.value, password.value);
  button.disabled = true;
  button.textContent = 'Signing in…';
  try {
    await api('GET', '/admin/event-types');
    password.value = '';
    render();
  } catch (err) {
    forgetCredential();
    showSignIn();
    error.textContent =
      err.status === 401
        ? 'The username or the password is wrong.'
        : err.status === 429
          ? `Too many failed sign-ins from this address. Try again in ${err.retryAfter || 'a few'} seconds.`
          : err.message;
    error.hidden = false;
    password.setAttribute('aria-invalid', 'true');
    password.focus();
    password.select();
  } finally {
    button.disabled = false;
    button.textContent = 'Sign in';
  }
});

document.getElementById('sign-out').addEventListener('click', () => {
  forgetCredential();
  showSignIn('You are signed out.');
});

// A link to the screen already shown reloads it (hashchange does not fire for the same hash).
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href^="#/"]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.getAttribute('href') === location.hash) {
    e.preventDefault();
    render();
  }
});

window.addEventListener('hashchange', render);
render();
