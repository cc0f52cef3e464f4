// Destination formats of an outgoing webhook: the format picker (chosen from the URL for Slack,
// Discord and Google Chat webhooks), the message template or body template, and a live preview
// rendered by the API (POST /admin/webhooks/preview) for a sample event.

import { api, h, field, nextId } from './lib.js';

const FORMATS = [
  ['standard', 'Standard: signed JSON envelope (event, timestamp, data, xprofile)'],
  ['slack', 'Slack: a one-line message ({"text": …})'],
  ['discord', 'Discord: a one-line message ({"content": …}, at most 2,000 characters)'],
  ['google_chat', 'Google Chat: a one-line message ({"text": …})'],
  ['template', 'Template: your own body (e.g. for SendGrid), rendered from the event'],
];
const CHAT = new Set(['slack', 'discord', 'google_chat']);

/** The format a known chat webhook URL calls for (the same rule the API applies on create). */
export function detectFormat(raw) {
  let u;
  try {
    u = new URL(String(raw || '').trim());
  } catch {
    return null;
  }
  const host = u.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'hooks.slack.com') return 'slack';
  if (['discord.com', 'discordapp.com', 'ptb.discord.com', 'canary.discord.com'].includes(host) && /^\/api\/(v\d+\/)?webhooks\//.test(u.pathname)) return 'discord';
  if (host === 'chat.googleapis.com') return 'google_chat';
  return null;
}

export function formatLabel(format) {
  const f = FORMATS.find(([v]) => v === (format || 'standard'));
  return f ? f[1].split(':')[0] : String(format);
}

/**
 * The "Format" card of the endpoint form. `url` is the URL input (the format follows it until
 * the operator picks one), `events` returns the selected subscriptions (the preview uses the
 * first concrete one). Returns the card and `value()`, the fields to send.
 */
export function formatSection(w, url, events, catalog, extra = () => ({})) {
  const select = h('select', { name: 'format', id: 'format' }, FORMATS.map(([v, label]) => h('option', { value: v }, label)));
  select.value = (w && w.format) || detectFormat(url.value) || 'standard';
  let touched = !!w;
  select.addEventListener('change', () => {
    touched = true;
    sync();
  });
  url.addEventListener('input', () => {
    const f = detectFormat(url.value);
    if (!touched && f) select.value = f;
    if (!touched && !f) select.value = 'standard';
    sync();
  });

  const inputs = formatInputs(w);
  const preview = formatPreview(catalog, events, () => ({ ...value(), ...extra(), url: url.value.trim() }));
  for (const el of [inputs.message, inputs.template, inputs.contentType]) el.addEventListener('input', preview.schedule);

  function sync() {
    const f = select.value;
    inputs.messageField.hidden = !CHAT.has(f);
    inputs.templateField.hidden = f !== 'template';
    inputs.typeField.hidden = f !== 'template';
    preview.schedule();
  }

  function value() {
    const f = select.value;
    const text = (el) => (el.value.trim() === '' ? null : el.value);
    const out = { format: f, message_template: text(inputs.message) };
    // The template fields are sent with the template format only (otherwise they are kept).
    if (f === 'template') {
      out.template = text(inputs.template);
      out.content_type = inputs.contentType.value.trim() || null;
    }
    return out;
  }

  const el = h(
    'section',
    { class: 'card' },
    h('h2', null, 'Format'),
    field({ label: 'Body format', name: 'format', control: select, hint: 'Chat webhooks (hooks.slack.com, discord.com/api/webhooks, chat.googleapis.com) are recognised from the URL. Every format is signed with the same headers.' }),
    inputs.messageField,
    inputs.templateField,
    inputs.typeField,
    preview.el,
  );
  preview.fillEvents();
  sync();
  return { el, value, refreshEvents: () => { preview.fillEvents(); preview.schedule(); } };
}

/** The message template (chat formats), the body template and its content type, with their fields. */
function formatInputs(w) {
  const message = h('textarea', { name: 'message_template', id: 'message-template', rows: 2, spellcheck: 'false', class: 'mono', placeholder: ':tada: {{ message }}' }, (w && w.message_template) || '');
  const template = h('textarea', { name: 'template', id: 'template', rows: 10, spellcheck: 'false', class: 'mono', placeholder: '{"subject": "New post by {{ xprofile.display_name }}", "data": {{ data|tojson }}}' }, (w && w.template) || '');
  const contentType = h('input', { type: 'text', name: 'content_type', id: 'content-type', autocomplete: 'off', spellcheck: 'false', class: 'mono', value: (w && w.format === 'template' && w.content_type) || 'application/json' });
  const messageField = field({ label: 'Message template (optional)', name: 'message_template', control: message, hint: 'Replaces the default one-line message. {{ message }} is the default message, {{ xprofile.display_name }}, {{ data.title }}, {{ event }} and the rest of the event are available; values are escaped for the chat service.' });
  const templateField = field({ label: 'Body template', name: 'template', control: template, hint: 'Rendered with event, timestamp, data, xprofile, delivery_id and webhook_id. In a JSON body, {{ value }} is escaped as the inside of a JSON string; write whole values with {{ value|tojson }}.' });
  const typeField = field({ label: 'Content type', name: 'content_type', control: contentType, hint: 'A JSON content type must render valid JSON (checked when you save).' });
  return { message, template, contentType, messageField, templateField, typeField };
}

/**
 * The live preview: a sample event picker (the concrete events the subscriptions match) and the
 * body the API renders for it. `fields` returns the format fields and URL to preview.
 */
function formatPreview(catalog, events, fields) {
  const allEvents = (catalog.event_types || []).map((e) => e.event);
  const previewEvent = h('select', { id: 'preview-event', 'aria-label': 'Sample event' });
  const previewOut = h('pre', { class: 'code', id: 'format-preview', tabindex: '0', 'aria-live': 'polite' });
  const previewMeta = h('p', { class: 'hint', id: 'format-preview-meta' });
  const verdict = h('p', { class: 'hint', id: 'filter-verdict', 'aria-live': 'polite' });

  const concreteEvents = () => {
    const chosen = events();
    if (chosen.includes('*')) return allEvents;
    return allEvents.filter((e) => chosen.some((p) => p === e || (p.endsWith('.*') && e.startsWith(p.slice(0, -1)))));
  };
  const fillEvents = () => {
    const list = concreteEvents();
    const current = previewEvent.value;
    const options = list.length ? list : ['webhook.test'];
    previewEvent.replaceChildren(...options.map((e) => h('option', { value: e }, e)));
    previewEvent.value = options.includes(current) ? current : options[0];
  };

  let timer = null;
  let seq = 0;
  const preview = async () => {
    const mine = ++seq;
    const body = { ...fields(), event: previewEvent.value || 'webhook.test' };
    try {
      const r = await api('POST', '/admin/webhooks/preview', body);
      if (mine !== seq) return;
      previewOut.classList.remove('preview-error');
      previewOut.textContent = pretty(r.body, r.content_type);
      previewMeta.textContent = `${formatLabel(r.format)} body for a sample ${r.event} event, sent as ${r.content_type}.`;
      verdict.textContent = filterVerdict(r.filter_passes);
    } catch (err) {
      if (mine !== seq || err.status === 401) return;
      previewOut.classList.add('preview-error');
      previewOut.textContent = err.message;
      previewMeta.textContent = 'This would be refused when saving.';
      verdict.textContent = '';
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(preview, 350);
  };
  previewEvent.addEventListener('change', preview);

  const previewId = nextId('preview');
  const el = h('div', { class: 'field preview', 'aria-labelledby': previewId }, h('h3', { id: previewId }, 'Preview'), h('p', { class: 'inline' }, h('label', { for: 'preview-event' }, 'Sample event'), previewEvent), previewMeta, verdict, previewOut);
  return { el, fillEvents, schedule };
}

/** The preview's line about the endpoint's filter (`passes` is absent without a filter). */
function filterVerdict(passes) {
  if (passes === true) return 'This sample passes the filter: it would be delivered.';
  if (passes === false) return 'This sample does not pass the filter: no delivery would be made.';
  return '';
}

function pretty(body, contentType) {
  if (/json/i.test(contentType || '')) {
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      return body;
    }
  }
  return body;
}
