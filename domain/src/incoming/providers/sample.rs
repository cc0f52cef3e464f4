//! A sample of each provider's purchase event (the grant its default rules act on), signed as
//! the provider signs it: what the admin UI's "Send sample event" posts through the webhook's
//! real URL. The shapes follow `tests/fixtures/providers` (trimmed to what Switchboard reads).

use serde_json::json;

use super::{sign, Source};

/// A ready-to-send request: POST `body` with `headers` to the webhook URL.
#[derive(Clone)]
pub struct Sample {
    /// The event type the sample carries.
    pub event: &'static str,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

// Headers hold signatures: names only.
impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Sample")
            .field("event", &self.event)
            .field("headers", &names)
            .finish()
    }
}

/// The sample purchase of `source` for `email`, signed with `secret` at `now` (Unix seconds);
/// `unique` makes its ids new (each sample is a new event). `None` for `form`: its calls are
/// the seeds' forms (the webhook page shows the curl example).
pub fn sample(source: Source, secret: &str, email: &str, unique: &str, now: i64) -> Option<Sample> {
    let p = Purchase::new(email, unique, now);
    let (event, topic, body) = match source {
        Source::Form => return None,
        Source::Stripe => stripe(&p),
        Source::Shopify => shopify(&p),
        Source::Woocommerce => woocommerce(&p),
        Source::Paddle => paddle(&p),
        Source::Lemonsqueezy => lemonsqueezy(&p),
        Source::Gumroad => gumroad(&p),
        Source::Typeform => typeform(&p),
        Source::StandardWebhooks => standard_webhooks(&p),
    };
    let mut headers = sign(
        source,
        secret,
        body.as_bytes(),
        now,
        topic,
        &format!("sample-{unique}"),
    );
    let content_type = if source == Source::Gumroad {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    headers.push(("content-type".into(), content_type.into()));
    Some(Sample {
        event,
        content_type,
        headers,
        body,
    })
}

/// What a sample purchase is made of: who buys, its ids and its time.
struct Purchase<'a> {
    email: &'a str,
    unique: &'a str,
    now: i64,
    /// `now` in RFC 3339, and as WooCommerce writes it.
    iso: String,
    wc_time: String,
    /// A numeric order id.
    order: i64,
}

impl<'a> Purchase<'a> {
    fn new(email: &'a str, unique: &'a str, now: i64) -> Self {
        let at = jiff::Timestamp::from_second(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        // A numeric order id from the unique id's last 10 characters (base 36 covers
        // Crockford's alphabet; < 2^53), so two samples in one second are two orders — and two
        // events.
        let tail = &unique[unique.len().saturating_sub(10)..];
        Self {
            email,
            unique,
            now,
            iso: crate::time::rfc3339(at),
            wc_time: at.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            order: i64::from_str_radix(tail, 36).unwrap_or(now),
        }
    }
}

/// `(event type, topic header, body)` of one provider's sample.
type Event = (&'static str, &'static str, String);

fn stripe(p: &Purchase) -> Event {
    let (unique, now, email) = (p.unique, p.now, p.email);
    (
        "checkout.session.completed",
        "",
        json!({"id": format!("evt_sample_{unique}"), "object": "event",
            "type": "checkout.session.completed", "created": now,
            "data": {"object": {"object": "checkout.session", "id": format!("cs_sample_{unique}"),
                "status": "complete", "payment_status": "paid", "customer": format!("cus_sample_{unique}"),
                "customer_details": {"email": email, "name": "Sample Member"}, "metadata": {}}}})
        .to_string(),
    )
}

fn shopify(p: &Purchase) -> Event {
    let (order, email, iso) = (p.order, p.email, &p.iso);
    (
        "orders/paid",
        "orders/paid",
        json!({"id": order, "email": email, "financial_status": "paid", "updated_at": iso,
            "customer": {"id": order + 1, "email": email, "first_name": "Sample", "last_name": "Member"},
            "line_items": [{"id": order + 2, "product_id": 632910392, "variant_id": 808950810, "sku": "SAMPLE"}]})
        .to_string(),
    )
}

fn woocommerce(p: &Purchase) -> Event {
    let (order, email, wc_time) = (p.order, p.email, &p.wc_time);
    (
        "order.created",
        "order.created",
        json!({"id": order, "status": "processing", "date_modified_gmt": wc_time, "customer_id": 0,
            "billing": {"email": email, "first_name": "Sample", "last_name": "Member"},
            "line_items": [{"id": 1, "product_id": 93, "variation_id": 0, "sku": "SAMPLE"}]})
        .to_string(),
    )
}

fn paddle(p: &Purchase) -> Event {
    let (unique, iso) = (p.unique, &p.iso);
    (
        "transaction.completed",
        "",
        json!({"event_id": format!("evt_sample_{unique}"), "event_type": "transaction.completed",
            "occurred_at": iso, "notification_id": format!("ntf_sample_{unique}"),
            "data": {"id": format!("txn_sample_{unique}"), "status": "completed",
                "customer_id": format!("ctm_sample_{unique}"),
                "items": [{"price": {"id": "pri_sample", "product_id": "pro_sample"}, "quantity": 1}]}})
        .to_string(),
    )
}

fn lemonsqueezy(p: &Purchase) -> Event {
    let (order, email, iso) = (p.order, p.email, &p.iso);
    (
        "order_created",
        "order_created",
        json!({"meta": {"event_name": "order_created"}, "data": {"type": "orders", "id": order.to_string(),
            "attributes": {"customer_id": order + 1, "user_name": "Sample Member", "user_email": email,
                "status": "paid", "refunded": false, "updated_at": iso,
                "first_order_item": {"order_id": order, "product_id": 1, "variant_id": 1}}}})
        .to_string(),
    )
}

fn gumroad(p: &Purchase) -> Event {
    (
        "sale",
        "",
        serde_urlencoded::to_string([
            ("resource_name", "sale"),
            ("sale_id", &format!("sample-{}", p.unique)),
            ("email", p.email),
            ("full_name", "Sample Member"),
            ("product_id", "sample"),
            ("permalink", "sample"),
            ("sale_timestamp", &p.iso),
        ])
        .unwrap_or_default(),
    )
}

fn typeform(p: &Purchase) -> Event {
    let (unique, email, iso) = (p.unique, p.email, &p.iso);
    (
        "form_response",
        "",
        json!({"event_id": format!("sample-{unique}"), "event_type": "form_response",
            "form_response": {"form_id": "sample", "token": format!("sample-{unique}"), "submitted_at": iso,
                "answers": [{"type": "email", "email": email, "field": {"id": "email", "type": "email"}}]}})
        .to_string(),
    )
}

fn standard_webhooks(p: &Purchase) -> Event {
    let (unique, email, iso) = (p.unique, p.email, &p.iso);
    (
        "member.added",
        "",
        json!({"type": "member.added", "timestamp": iso,
            "data": {"id": format!("sample-{unique}"), "email": email, "fullName": "Sample Member"}})
        .to_string(),
    )
}
