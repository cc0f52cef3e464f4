// Provider sources on the incoming webhook form and page: the source picker, the provider's
// signing secret, rules (with timed access) and products, each provider's setup steps, and
// "Send sample event" (a signed sample purchase posted through the webhook's real URL).

import { api, h, field, withBusy, toast, postToWebhook } from './lib.js';

export const SOURCES = [
  { value: 'form', label: 'Form, CRM, Zapier or Make (the seeds’ form calls)', signed: false, steps: [] },
  {
    value: 'stripe',
    label: 'Stripe',
    signed: true,
    secretHint: 'The endpoint’s signing secret (whsec_…).',
    steps: ['In Stripe: Developers → Webhooks → Add endpoint.', 'Paste this webhook’s URL as the endpoint URL.', 'Select the events checkout.session.completed, customer.subscription.deleted and charge.refunded (and invoice.paid for renewals).', 'Reveal the signing secret and paste it here.'],
  },
  {
    value: 'shopify',
    label: 'Shopify',
    signed: true,
    secretHint: 'The signing key shown under the webhooks list (apps: the client secret).',
    steps: ['In Shopify admin: Settings → Notifications → Webhooks → Create webhook.', 'Events Order payment and Order cancellation, format JSON, this webhook’s URL.', 'Copy the key shown under “Your webhooks will be signed with” and paste it here.'],
  },
  {
    value: 'woocommerce',
    label: 'WooCommerce',
    signed: true,
    secretHint: 'The secret you type in WooCommerce’s webhook form.',
    steps: ['In WordPress: WooCommerce → Settings → Advanced → Webhooks → Add webhook.', 'Topic Order created (add a second webhook for Order updated), API version WP REST API v3, this webhook’s URL.', 'Type a secret there and paste the same secret here. WooCommerce’s unsigned test ping is answered 200.'],
  },
  {
    value: 'paddle',
    label: 'Paddle Billing',
    signed: true,
    secretHint: 'The destination’s secret key (pdl_ntfset_…).',
    steps: ['In Paddle: Developer tools → Notifications → New destination.', 'This webhook’s URL; events customer.created, transaction.completed and subscription.canceled.', 'Copy the secret key and paste it here. Transactions carry only a customer id: Switchboard learns the email from customer.created.'],
  },
  {
    value: 'lemonsqueezy',
    label: 'Lemon Squeezy',
    signed: true,
    secretHint: 'The signing secret you typed in Lemon Squeezy (6–40 characters).',
    steps: ['In Lemon Squeezy: Settings → Webhooks → add a webhook.', 'This webhook’s URL, a signing secret, events order_created, order_refunded and subscription_expired.', 'Paste the same signing secret here.'],
  },
  {
    value: 'gumroad',
    label: 'Gumroad',
    signed: false,
    steps: ['In Gumroad: Settings → Advanced → Ping, paste this webhook’s URL.', 'Gumroad does not sign its pings: the URL is the only credential. Keep it secret and rotate it if it leaks.'],
  },
  {
    value: 'typeform',
    label: 'Typeform',
    signed: true,
    secretHint: 'The secret you set on the Typeform webhook.',
    steps: ['In Typeform: your form → Connect → Webhooks → Add a webhook.', 'This webhook’s URL; edit it and set a secret; paste the same secret here.', 'The form needs an Email question (or a hidden field email).'],
  },
  {
    value: 'standard-webhooks',
    label: 'Standard Webhooks sender (Svix and others)',
    signed: true,
    secretHint: 'The sender’s whsec_… secret.',
    steps: ['In the sending service: add an endpoint with this webhook’s URL and copy its whsec_ secret here.', 'There are no default rules: write rules for the event types it sends (e.g. member.added → grant).'],
  },
];

export function sourceOf(value) {
  return SOURCES.find((s) => s.value === value) || SOURCES[0];
}

/** The setup steps of a provider, as a list. */
export function setupSteps(value) {
  const s = sourceOf(value);
  if (!s.steps.length) return null;
  return h('ol', { class: 'steps' }, ...s.steps.map((t) => h('li', null, t)));
}

const pretty = (v) => (v === undefined || v === null ? '' : JSON.stringify(v, null, 2));

/** The provider part of the webhook form: `el` to insert, `value()` the fields to send. */
export function sourceSection(w) {
  const select = h('select', { name: 'source' }, ...SOURCES.map((s) => h('option', { value: s.value }, s.label)));
  select.value = w ? w.source || 'form' : 'form';
  const { provider, secret, secretHint, clear, defaults, rules, products, steps } = providerFields(w);
  const render = () => {
    const s = sourceOf(select.value);
    provider.hidden = s.value === 'form';
    secret.disabled = !s.signed;
    secret.placeholder = w && w.source_secret_set ? 'Leave empty to keep the current secret' : s.signed ? 'Paste the provider’s secret' : 'This provider does not sign its calls';
    secretHint.textContent = s.signed ? s.secretHint || '' : 'This provider does not sign its calls: the URL is the only credential.';
    rules.disabled = defaults.checked;
    steps.replaceChildren(setupSteps(s.value) || '');
  };
  select.addEventListener('change', render);
  defaults.addEventListener('change', render);
  render();
  const el = h(
    'section',
    { class: 'card' },
    h('h2', null, 'Source'),
    field({ label: 'Who calls this webhook', name: 'source', control: select, hint: 'A payment or form provider can call the URL directly: Switchboard verifies its signature and maps its events.' }),
    provider,
  );
  return {
    el,
    value() {
      const out = { source: select.value };
      if (select.value === 'form') return out;
      if (clear && clear.checked) out.source_secret = null;
      else if (secret.value !== '') out.source_secret = secret.value;
      out.rules = defaults.checked ? null : parseJsonField(rules.value, 'rules');
      out.products = parseJsonField(products.value, 'products') || [];
      return out;
    },
  };
}

/** The provider's fields (secret, default rules, rules, products, setup steps) in `provider`. */
function providerFields(w) {
  const secret = h('input', { type: 'password', name: 'source_secret', autocomplete: 'off', spellcheck: 'false', maxlength: 512 });
  const secretHint = h('p', { class: 'hint' });
  let clear = null;
  if (w && w.source_secret_set) {
    clear = h('input', { type: 'checkbox', name: 'clear_source_secret' });
    clear.id = 'incoming-clear-source-secret';
  }
  const defaults = h('input', { type: 'checkbox', name: 'default_rules', checked: !w || !w.rules_customized });
  defaults.id = 'incoming-default-rules';
  const rules = h('textarea', { name: 'rules', rows: 8, spellcheck: 'false', class: 'mono', placeholder: '[{"event": "checkout.session.completed", "status": "paid", "action": "grant", "access": {"days": 365}}]' }, w && w.source !== 'form' ? pretty(w.rules) : '');
  const products = h('textarea', { name: 'products', rows: 5, spellcheck: 'false', class: 'mono', placeholder: '[{"match": "price_123", "space_ids": [1], "course_ids": []}]' }, w && (w.products || []).length ? pretty(w.products) : '');
  const steps = h('div', { class: 'setup-steps' });
  const provider = h(
    'div',
    null,
    h(
      'div',
      { class: 'field', dataset: { field: 'source_secret' } },
      h('label', { for: (secret.id = 'incoming-source-secret') }, 'Provider signing secret'),
      secretHint,
      secret,
      clear ? h('p', { class: 'check' }, clear, h('label', { for: clear.id }, 'Remove the provider secret')) : null,
      h('p', { class: 'field-error', hidden: true }),
    ),
    h('div', { class: 'field check', dataset: { field: 'default_rules' } }, defaults, h('label', { for: defaults.id }, 'Use the provider’s default rules (grant on a completed purchase, revoke when access ends)')),
    field({ label: 'Rules (JSON)', name: 'rules', control: rules, hint: 'The first rule matching the event type (and status) decides: grant, revoke or ignore. A grant rule may add "access": {"days": N} or "period_end" for timed access.' }),
    field({ label: 'Products (JSON)', name: 'products', control: products, hint: 'Optional: which spaces and courses each product, price, variant or permalink id grants. Empty: purchases grant the lists above.' }),
    h('h3', null, 'Set up the provider'),
    steps,
  );
  return { provider, secret, secretHint, clear, defaults, rules, products, steps };
}

/** A JSON text field's value: null when empty, a 400-shaped error naming the field when invalid. */
function parseJsonField(text, name) {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    const err = new Error(`${name} is not valid JSON.`);
    err.status = 400;
    err.data = { field: name };
    throw err;
  }
}

/** "Send sample event": a signed sample purchase, posted through the webhook's real URL. */
export function sampleCard(w, onSent) {
  const send = h('button', { type: 'button', class: 'btn' }, 'Send sample event');
  const out = h('pre', { class: 'code', hidden: true, 'aria-live': 'polite', id: 'sample-result' });
  send.addEventListener('click', async () => {
    try {
      await withBusy(send, 'Sending…', async () => {
        const s = await api('POST', `/admin/incoming-webhooks/${Number(w.id)}/sample`);
        const r = await postToWebhook(s.url, s.headers, s.body);
        const text = await r.text();
        out.hidden = false;
        out.textContent = `${s.event} → HTTP ${r.status}\n${text}`;
        toast(r.ok ? 'Sample event sent: see the activity log.' : `The sample got HTTP ${r.status}.`, r.ok ? undefined : 'error');
      });
      if (onSent) await onSent();
    } catch (err) {
      if (err.status !== 401) toast(err.message, 'error');
    }
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'sample-title' },
    h('h2', { id: 'sample-title' }, 'Try it'),
    h('p', { class: 'hint' }, `Posts a sample ${sourceOf(w.source).label} purchase, signed with the provider secret, to the URL above — exactly as the provider would. A sample member (sample+…@example.com) gets what the rules grant.`),
    setupSteps(w.source),
    h('p', null, send),
    out,
  );
}
