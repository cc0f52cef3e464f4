//! Spaces and courses (docs/reference/api.md#routes); space changes emit
//! `space.created|updated|deleted`.

use serde_json::{json, Map, Value};

use super::Outbox;
use crate::domain::catalog::{slugify, CatalogEntry};
use crate::domain::events::{names, Event, EventName};
use crate::domain::fields::string_field;
use crate::domain::membership::Membership;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::{Error, Result};
use crate::store::keys::Kind;
use crate::store::{CatalogRepo, MemberRepo, Repositories};

/// Spaces and courses.
#[derive(Debug)]
pub struct Catalog {
    catalog: CatalogRepo,
    members: MemberRepo,
    outbox: Outbox,
}

impl Catalog {
    pub(crate) fn new(repos: &Repositories, outbox: Outbox) -> Self {
        Self {
            catalog: repos.catalog.clone(),
            members: repos.members.clone(),
            outbox,
        }
    }

    pub async fn list(&self, kind: Kind, req: &PageRequest) -> Result<Page<CatalogEntry>> {
        self.catalog.list(kind, req).await
    }

    /// Members of a space or enrollments of a course (`404` for an unknown one).
    pub async fn members(
        &self,
        kind: Kind,
        id: i64,
        req: &PageRequest,
    ) -> Result<Page<Membership>> {
        self.get(kind, id).await?;
        self.members.memberships(kind, id, req).await
    }

    pub async fn get(&self, kind: Kind, id: i64) -> Result<CatalogEntry> {
        self.catalog
            .get(kind, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("{} not found.", capitalized(kind))))
    }

    pub async fn create(&self, kind: Kind, body: &Map<String, Value>) -> Result<CatalogEntry> {
        let title = string_field(body, "title", 200)?
            .ok_or_else(|| Error::invalid("title", "is required"))?;
        let slug = slug_field(body)?.unwrap_or_else(|| slugify(&title));
        let description = description_field(body)?.unwrap_or_default();
        let id = self.catalog.next_id(kind).await?;
        let now = time::now_s();
        let entry = CatalogEntry {
            id,
            title,
            slug,
            description,
            created_at: now,
            updated_at: now,
        };
        let item = self.catalog.put(kind, &entry, true)?;
        self.outbox
            .commit_with_events(
                vec![((), item)],
                self.catalog_events(kind, names::SPACE_CREATED, &entry),
                (),
            )
            .await?
            .map_err(|_| Error::Conflict("Please retry: the id was taken concurrently.".into()))?;
        Ok(entry)
    }

    pub async fn update(
        &self,
        kind: Kind,
        id: i64,
        body: &Map<String, Value>,
    ) -> Result<CatalogEntry> {
        let mut entry = self.get(kind, id).await?;
        if let Some(t) = string_field(body, "title", 200)? {
            entry.title = t;
        }
        if let Some(s) = slug_field(body)? {
            entry.slug = s;
        }
        if let Some(d) = description_field(body)? {
            entry.description = d;
        }
        entry.updated_at = time::now_s();
        let item = self.catalog.put(kind, &entry, false)?;
        self.outbox
            .commit_with_events(
                vec![((), item)],
                self.catalog_events(kind, names::SPACE_UPDATED, &entry),
                (),
            )
            .await?
            .map_err(|_| Error::NotFound(format!("{} not found.", capitalized(kind))))?;
        Ok(entry)
    }

    pub async fn delete(&self, kind: Kind, id: i64) -> Result<()> {
        let entry = self.get(kind, id).await?;
        let item = self.catalog.delete(kind, id)?;
        self.outbox
            .commit_with_events(
                vec![((), item)],
                self.catalog_events(kind, names::SPACE_DELETED, &entry),
                (),
            )
            .await?
            .map_err(|_| Error::NotFound(format!("{} not found.", capitalized(kind))))?;
        // Memberships of a deleted space go too. Best effort: a leftover is harmless (executions
        // check that the space exists and list it as skipped) and a repeated DELETE is a 404.
        if let Err(e) = self.members.delete_memberships_of(kind, id).await {
            tracing::warn!(error = %e, id, "could not remove the memberships of a deleted {}", kind.noun());
        }
        Ok(())
    }

    /// The event of a change to a space (`space_event`); courses have none in the catalog.
    fn catalog_events(
        &self,
        kind: Kind,
        space_event: EventName,
        entry: &CatalogEntry,
    ) -> Vec<Event> {
        match kind {
            Kind::Space => vec![Event::new(
                space_event,
                json!({"space_id": entry.id, "space": entry.view()}),
                None,
                None,
            )],
            Kind::Course => vec![],
        }
    }
}

fn capitalized(kind: Kind) -> &'static str {
    match kind {
        Kind::Space => "Space",
        Kind::Course => "Course",
    }
}

fn slug_field(body: &Map<String, Value>) -> Result<Option<String>> {
    match string_field(body, "slug", 80)? {
        Some(s) if slugify(&s) == s => Ok(Some(s)),
        Some(_) => Err(Error::invalid(
            "slug",
            "use lower-case letters, digits and hyphens",
        )),
        None => Ok(None),
    }
}

fn description_field(body: &Map<String, Value>) -> Result<Option<String>> {
    match body.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 2000 => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(
            "description",
            "must be a string of at most 2000 characters",
        )),
    }
}
