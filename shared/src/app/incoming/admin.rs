//! Managing incoming webhooks (docs/reference/incoming.md#configuration-of-an-incoming-webhook).

use serde_json::{Map, Value};

use super::Incoming;
use crate::domain::incoming::providers::{self, Sample};
use crate::domain::incoming::{IncomingWebhook, WebhookPatch, WebhookStatus};
use crate::domain::{secret, time};
use crate::error::{Error, Result};
use crate::store::keys::Kind;

fn not_found() -> Error {
    Error::NotFound("Incoming webhook not found.".into())
}

impl Incoming {
    pub async fn get(&self, id: i64) -> Result<IncomingWebhook> {
        self.webhooks.get(id).await?.ok_or_else(not_found)
    }

    /// Rejects ids of spaces or courses that do not exist, naming the field.
    async fn check_references(&self, patch: &WebhookPatch) -> Result<()> {
        let (spaces, courses) = patch.referenced();
        for (kind, ids, fields) in [
            (
                Kind::Space,
                spaces,
                [
                    ("space_ids", &patch.space_ids),
                    ("remove_space_ids", &patch.remove_space_ids),
                ],
            ),
            (
                Kind::Course,
                courses,
                [
                    ("course_ids", &patch.course_ids),
                    ("remove_course_ids", &patch.remove_course_ids),
                ],
            ),
        ] {
            if ids.is_empty() {
                continue;
            }
            let found = self.catalog.existing(kind, &ids).await?;
            let unknown = |list: &[i64]| list.iter().find(|id| !found.contains(id)).copied();
            for (field, list) in fields {
                if let Some(id) = list.as_deref().and_then(unknown) {
                    return Err(Error::invalid(
                        field,
                        format!("{} {id} does not exist", kind.noun()),
                    ));
                }
            }
            for p in patch.products.iter().flatten() {
                let list = match kind {
                    Kind::Space => &p.space_ids,
                    Kind::Course => &p.course_ids,
                };
                if let Some(id) = unknown(list) {
                    return Err(Error::invalid(
                        "products",
                        format!("{} {id} does not exist", kind.noun()),
                    ));
                }
            }
        }
        Ok(())
    }

    pub async fn create(&self, body: &Map<String, Value>) -> Result<IncomingWebhook> {
        let patch = WebhookPatch::from_json(body, true)?;
        self.check_references(&patch).await?;
        let id = self.webhooks.next_id().await?;
        let now = time::now_s();
        let mut w = IncomingWebhook {
            id,
            key: secret::webhook_key(),
            title: String::new(),
            space_ids: vec![],
            remove_space_ids: vec![],
            course_ids: vec![],
            remove_course_ids: vec![],
            send_wp_welcome_email: false,
            status: WebhookStatus::Active,
            allowed_ips: vec![],
            signing_secret: None,
            field_map: Default::default(),
            source: Default::default(),
            source_secret: None,
            rules: None,
            products: vec![],
            expect_every_hours: None,
            running_count: 0,
            last_run_at: None,
            created_at: now,
            updated_at: now,
            revision: 0,
        };
        patch.apply(&mut w);
        w.check_limits()?;
        if !self.webhooks.create(&w).await? {
            return Err(Error::Conflict(
                "Please retry: the id was taken concurrently.".into(),
            ));
        }
        Ok(w)
    }

    pub async fn update(&self, id: i64, body: &Map<String, Value>) -> Result<IncomingWebhook> {
        let patch = WebhookPatch::from_json(body, false)?;
        self.check_references(&patch).await?;
        let mut w = self.get(id).await?;
        patch.apply(&mut w);
        w.check_limits()?;
        self.save_incoming(w, None).await
    }

    /// A signed sample purchase event for a provider webhook (`400` for `form`, or when its
    /// provider signs and no `source_secret` is set).
    pub async fn sample(&self, id: i64) -> Result<(IncomingWebhook, Sample)> {
        let w = self.get(id).await?;
        let secret = w
            .source_secret
            .as_ref()
            .map(|s| s.expose().to_string())
            .unwrap_or_default();
        if w.source.signed() && secret.is_empty() {
            return Err(Error::invalid(
                "source_secret",
                "set the provider's signing secret before sending a sample",
            ));
        }
        let unique = time::new_ulid().to_string().to_lowercase();
        let email = format!("sample+{}@example.com", &unique[unique.len() - 8..]);
        let now = time::now().as_second();
        let s = providers::sample(w.source, &secret, &email, &unique, now).ok_or_else(|| {
            Error::invalid(
                "source",
                "a form webhook takes the seeds' form calls: use the curl example",
            )
        })?;
        Ok((w, s))
    }

    /// New key; the old URL stops working with the same transaction.
    pub async fn rotate(&self, id: i64) -> Result<IncomingWebhook> {
        let mut w = self.get(id).await?;
        let old = std::mem::replace(&mut w.key, secret::webhook_key());
        self.save_incoming(w, Some(&old)).await
    }

    async fn save_incoming(
        &self,
        mut w: IncomingWebhook,
        old_key: Option<&str>,
    ) -> Result<IncomingWebhook> {
        w.updated_at = time::now_s();
        let prev = w.revision;
        w.revision += 1;
        if !self.webhooks.update(&w, prev, old_key).await? {
            return Err(Error::Conflict(
                "The webhook was changed or deleted concurrently; reload and retry.".into(),
            ));
        }
        Ok(w)
    }

    pub async fn delete(&self, id: i64) -> Result<()> {
        let w = self.get(id).await?;
        if self.webhooks.delete(&w).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }
}
