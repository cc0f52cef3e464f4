// The receiver of seed 003 ("Verify Signatures"), unchanged in substance:
// express.json() parses the body, JSON.stringify(req.body) is HMAC'd with the secret and compared
// to X-Fluent-Signature with crypto.timingSafeEqual. Also checks seed 004's X-FluentCRM-Signature
// the same way. Usage: SECRET=... PORT=... node express_verifier.js
const crypto = require('crypto');
const express = require('express');

function verifyWebhookSignature(payload, signature, secret) {
  const hmac = crypto.createHmac('sha256', secret);
  const digest = 'sha256=' + hmac.update(payload).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(digest));
}

const results = { ok: 0, bad: [] };
const app = express();
app.use(express.json({ limit: '1mb' }));

app.post('/webhook', (req, res) => {
  let isValid = false;
  try {
    const payload = JSON.stringify(req.body);
    isValid =
      verifyWebhookSignature(payload, req.headers['x-fluent-signature'], process.env.SECRET) &&
      verifyWebhookSignature(payload, req.headers['x-fluentcrm-signature'], process.env.SECRET);
  } catch (e) {
    isValid = false;
  }
  if (!isValid) {
    results.bad.push(req.headers['x-fluentcrm-delivery'] || 'unknown');
    return res.status(401).send('Invalid signature');
  }
  results.ok += 1;
  res.status(200).send('OK');
});

app.get('/results', (req, res) => res.json(results));
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
