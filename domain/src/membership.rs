//! Memberships (spaces) and enrollments (courses), with the grants that hold them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::member::Member;

/// Which catalog a membership belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Space,
    Course,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Space => "space",
            Kind::Course => "course",
        }
    }

    /// Both kinds, spaces first (the order of responses and events).
    pub const ALL: [Kind; 2] = [Kind::Space, Kind::Course];
}

/// Who granted a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantedBy {
    Admin,
    IncomingWebhook,
}

/// One reason a member holds a membership: an admin, or an incoming webhook together with the
/// provider objects (order, checkout, subscription, payment ids) that caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub by: GrantedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_webhook_id: Option<i64>,
    /// Provider object ids, prefixed by the provider (`stripe:sub_123`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
    #[serde(with = "crate::time::wire")]
    pub at: jiff::Timestamp,
    /// Timed access: when this grant ends; `None` lasts until revoked.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::wire::option"
    )]
    pub expires_at: Option<jiff::Timestamp>,
}

impl Grant {
    /// Whether a revoke by `webhook_id` naming `objects` (none: everything) removes this grant.
    pub fn revoked_by(&self, webhook_id: i64, objects: &[String]) -> bool {
        let mine =
            self.by == GrantedBy::IncomingWebhook && self.incoming_webhook_id == Some(webhook_id);
        mine && (objects.is_empty() || self.objects.iter().any(|o| objects.contains(o)))
    }
}

/// A membership (space) or enrollment (course).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Membership {
    pub kind: Kind,
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    /// `by_admin` (as the seed's incoming webhooks record it).
    pub origin: String,
    /// The incoming webhook that made it, if one did.
    #[serde(default)]
    pub incoming_webhook_id: Option<i64>,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    /// Every grant holding it; empty on items written before grants were recorded (see
    /// [`Membership::effective_grants`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
    /// Optimistic-lock token, incremented by every change of `grants`.
    #[serde(default)]
    pub rev: i64,
}

impl Membership {
    /// A new membership held by one grant.
    pub fn new(kind: Kind, id: i64, member: &Member, grant: Grant) -> Self {
        Self {
            kind,
            id,
            user_id: member.user_id,
            email: member.email.clone(),
            origin: "by_admin".into(),
            incoming_webhook_id: grant.incoming_webhook_id,
            created_at: grant.at,
            grants: vec![grant],
            rev: 1,
        }
    }

    /// The grants, with older items read as one grant by whoever made them.
    pub fn effective_grants(&self) -> Vec<Grant> {
        if !self.grants.is_empty() {
            return self.grants.clone();
        }
        vec![Grant {
            by: match self.incoming_webhook_id {
                Some(_) => GrantedBy::IncomingWebhook,
                None => GrantedBy::Admin,
            },
            incoming_webhook_id: self.incoming_webhook_id,
            objects: vec![],
            at: self.created_at,
            expires_at: None,
        }]
    }

    /// When its next grant ends (timed access), if any grant has an end: the expiry pass
    /// then drops that grant, and removes the membership if no grant is left.
    pub fn next_grant_end(&self) -> Option<jiff::Timestamp> {
        self.effective_grants()
            .into_iter()
            .filter_map(|g| g.expires_at)
            .min()
    }

    /// The membership as it stands at `now`: `None` when every grant has ended,
    /// `Some(updated)` when some ended, `Some(same)` when none did.
    pub fn without_expired(&self, now: jiff::Timestamp) -> Option<Membership> {
        let grants = self.effective_grants();
        let live: Vec<Grant> = grants
            .iter()
            .filter(|g| g.expires_at.is_none_or(|e| e > now))
            .cloned()
            .collect();
        if live.is_empty() {
            return None;
        }
        let mut m = self.clone();
        if live.len() != grants.len() {
            m.grants = live;
            m.rev = self.rev + 1;
        }
        Some(m)
    }
}

/// A member's partition as read in one query: profile, spaces and courses.
#[derive(Clone, Debug, Default)]
pub struct MemberState {
    pub member: Option<Member>,
    pub spaces: BTreeMap<i64, Membership>,
    pub courses: BTreeMap<i64, Membership>,
}

impl MemberState {
    pub fn of(&self, kind: Kind) -> &BTreeMap<i64, Membership> {
        match kind {
            Kind::Space => &self.spaces,
            Kind::Course => &self.courses,
        }
    }

    pub fn of_mut(&mut self, kind: Kind) -> &mut BTreeMap<i64, Membership> {
        match kind {
            Kind::Space => &mut self.spaces,
            Kind::Course => &mut self.courses,
        }
    }
}
