//! Members, login claims, memberships and enrollments.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::keys::{self, Kind};
use super::{from_item, to_item, QuerySpec, Store};
use crate::aws::OrUnavailable;
use crate::domain::member::Member;
use crate::domain::page::{Page, PageRequest};
use crate::error::Result;

#[derive(Serialize, Deserialize)]
struct ProfileItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    data: Member,
    password_hash: String,
}

/// A membership (space) or enrollment (course).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Membership {
    pub kind: String,
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    /// `by_admin` (as the seed's incoming webhooks record it).
    pub origin: String,
    /// The incoming webhook that made it, if one did.
    #[serde(default)]
    pub incoming_webhook_id: Option<i64>,
    pub created_at: String,
}

impl Membership {
    pub fn view(&self) -> Value {
        json!({
            format!("{}_id", self.kind): self.id,
            "user_id": self.user_id,
            "email": self.email,
            "origin": self.origin,
            "incoming_webhook_id": self.incoming_webhook_id,
            "created_at": self.created_at,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct MembershipItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    m: Membership,
}

/// A member's partition read in one query: profile, spaces and courses.
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

    /// `/admin/users/...`: profile, spaces, courses.
    pub fn view(&self) -> Value {
        let Some(m) = &self.member else {
            return Value::Null;
        };
        let mut v = m.public();
        v["spaces"] = self.spaces.values().map(Membership::view).collect();
        v["courses"] = self.courses.values().map(Membership::view).collect();
        v
    }
}

impl Store {
    /// One strongly consistent query of the member's partition.
    pub async fn member_state(&self, email: &str) -> Result<MemberState> {
        let items = self
            .query_all(&QuerySpec::table(keys::member(email)))
            .await?;
        let mut state = MemberState::default();
        for item in items {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == keys::PROFILE {
                let p: ProfileItem = from_item(item)?;
                state.member = Some(p.data);
            } else {
                let m: MembershipItem = from_item(item)?;
                match m.m.kind.as_str() {
                    "space" => state.spaces.insert(m.m.id, m.m),
                    _ => state.courses.insert(m.m.id, m.m),
                };
            }
        }
        Ok(state)
    }

    /// Looks a member up by id (through the `USERS` index), then reads their partition.
    pub async fn member_by_id(&self, user_id: i64) -> Result<Option<MemberState>> {
        let spec = QuerySpec::gsi1(keys::USERS).prefix(keys::id_sk(user_id));
        let items = self.query_all(&spec).await?;
        let Some(item) = items.into_iter().next() else {
            return Ok(None);
        };
        let p: ProfileItem = from_item(item)?;
        let state = self.member_state(&p.data.email).await?;
        Ok(state.member.is_some().then_some(state))
    }

    pub async fn list_users(&self, req: &PageRequest) -> Result<Page<Member>> {
        let page = self.page(&QuerySpec::gsi1(keys::USERS), req).await?;
        page.try_map(|i| from_item::<ProfileItem>(i).map(|p| p.data))
    }

    /// Members of a space / enrollments of a course, by user id.
    pub async fn list_memberships(
        &self,
        kind: Kind,
        id: i64,
        req: &PageRequest,
    ) -> Result<Page<Membership>> {
        let page = self
            .page(&QuerySpec::gsi1(kind.members_gsi(id)), req)
            .await?;
        page.try_map(|i| from_item::<MembershipItem>(i).map(|m| m.m))
    }

    /// Deletes every membership of a deleted space / course (via the GSI, 25 per BatchWriteItem).
    pub async fn delete_memberships_of(&self, kind: Kind, id: i64) -> Result<usize> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let items = self
            .query_all(&QuerySpec::gsi1(kind.members_gsi(id)))
            .await?;
        let mut deleted = 0;
        for chunk in items.chunks(25) {
            let mut requests = Vec::new();
            for item in chunk {
                let k: super::Item = ["pk", "sk"]
                    .iter()
                    .filter_map(|n| item.get(*n).map(|v| (n.to_string(), v.clone())))
                    .collect();
                let del = DeleteRequest::builder()
                    .set_key(Some(k))
                    .build()
                    .map_err(crate::error::Error::dep)?;
                requests.push(WriteRequest::builder().delete_request(del).build());
            }
            let mut pending = Some(requests);
            while let Some(reqs) = pending.take().filter(|r| !r.is_empty()) {
                let n = reqs.len();
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, reqs)
                    .send()
                    .await
                    .or_unavailable("BatchWriteItem")?;
                let left = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table));
                deleted += n - left.as_ref().map_or(0, Vec::len);
                pending = left;
            }
        }
        Ok(deleted)
    }

    /// The member's profile, only if the email is still free.
    pub fn put_profile(&self, member: &Member, password_hash: &str) -> Result<TransactWriteItem> {
        let item = to_item(&ProfileItem {
            pk: keys::member(&member.email),
            sk: keys::PROFILE.into(),
            gsi1pk: keys::USERS.into(),
            gsi1sk: keys::id_sk(member.user_id),
            data: member.clone(),
            password_hash: password_hash.to_string(),
        })?;
        self.put_new(item)
    }

    /// Claims a login, only if no one holds it.
    pub fn put_login_claim(&self, member: &Member) -> Result<TransactWriteItem> {
        let item = to_item(&json!({
            "pk": keys::login(&member.login),
            "sk": "LOGIN",
            "user_id": member.user_id,
            "email": member.email,
        }))?;
        self.put_new(item)
    }

    /// Adds a membership, only if it does not exist yet.
    pub fn put_membership(
        &self,
        kind: Kind,
        id: i64,
        member: &Member,
        webhook_id: Option<i64>,
        now: &str,
    ) -> Result<TransactWriteItem> {
        let item = to_item(&MembershipItem {
            pk: keys::member(&member.email),
            sk: kind.membership_sk(id),
            gsi1pk: kind.members_gsi(id),
            gsi1sk: keys::id_sk(member.user_id),
            m: Membership {
                kind: kind.noun().into(),
                id,
                user_id: member.user_id,
                email: member.email.clone(),
                origin: "by_admin".into(),
                incoming_webhook_id: webhook_id,
                created_at: now.to_string(),
            },
        })?;
        self.put_new(item)
    }

    /// Removes a membership, only if it exists.
    pub fn delete_membership(&self, kind: Kind, id: i64, email: &str) -> Result<TransactWriteItem> {
        self.delete_existing(&keys::member(email), &kind.membership_sk(id))
    }
}
