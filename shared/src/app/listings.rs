//! The admin API's read-only listings, as services: transport asks the app, never the store.

use super::App;
use crate::domain::delivery::{Delivery, DeliveryStatus};
use crate::domain::incoming::run::Run;
use crate::domain::incoming::IncomingWebhook;
use crate::domain::member::Member;
use crate::domain::membership::{MemberState, Membership};
use crate::domain::outgoing::Endpoint;
use crate::domain::page::{Page, PageRequest};
use crate::error::Result;
use crate::store::app_passwords::AppPassword;
use crate::store::catalog::CatalogEntry;
use crate::store::keys::Kind;

impl App {
    pub async fn incoming_list(&self, req: &PageRequest) -> Result<Page<IncomingWebhook>> {
        self.store.webhook_list(req).await
    }

    /// An incoming webhook's activity log, newest first (`404` for an unknown webhook).
    pub async fn incoming_runs(&self, id: i64, req: &PageRequest) -> Result<Page<Run>> {
        self.incoming_get(id).await?;
        self.store.runs(id, req).await
    }

    pub async fn endpoint_list(&self, req: &PageRequest) -> Result<Page<Endpoint>> {
        self.store.endpoint_list(req).await
    }

    /// An endpoint's deliveries, newest first, optionally in one status (`404` for an unknown
    /// endpoint).
    pub async fn endpoint_deliveries(
        &self,
        id: i64,
        status: Option<DeliveryStatus>,
        req: &PageRequest,
    ) -> Result<Page<Delivery>> {
        self.endpoint_get(id).await?;
        self.store.deliveries(id, status, req).await
    }

    /// A member's profile, spaces and courses by (normalized) email.
    pub async fn member_by_email(&self, email: &str) -> Result<MemberState> {
        self.store.member_state(email).await
    }

    pub async fn member_list(&self, req: &PageRequest) -> Result<Page<Member>> {
        self.store.list_users(req).await
    }

    pub async fn catalog_list(&self, kind: Kind, req: &PageRequest) -> Result<Page<CatalogEntry>> {
        self.store.catalog_list(kind, req).await
    }

    /// Members of a space or enrollments of a course (`404` for an unknown one).
    pub async fn catalog_members(
        &self,
        kind: Kind,
        id: i64,
        req: &PageRequest,
    ) -> Result<Page<Membership>> {
        self.catalog_get(kind, id).await?;
        self.store.list_memberships(kind, id, req).await
    }

    pub async fn app_password_list(&self, req: &PageRequest) -> Result<Page<AppPassword>> {
        self.store.app_password_list(req).await
    }

    /// Revokes an application password at once; `false` when there was none.
    pub async fn app_password_revoke(&self, id: i64) -> Result<bool> {
        self.store.app_password_delete(id).await
    }
}
