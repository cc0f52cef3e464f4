//! Members, login claims, memberships and enrollments.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::keys::{self, Kind, KindKeys};
use super::{from_item, repository, to_item, QuerySpec};
use crate::domain::member::Member;
pub use crate::domain::membership::{MemberState, Membership};
use crate::domain::page::{Page, PageRequest};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct ProfileItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    data: Member,
    password_hash: String,
}

#[derive(Serialize, Deserialize)]
struct MembershipItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    /// Timed access: on the expiry index, by its next grant end, while a grant has one
    /// (sparse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    #[serde(flatten)]
    m: Membership,
}

impl MembershipItem {
    fn of(m: &Membership) -> Self {
        let ends = m.next_grant_end();
        Self {
            pk: keys::member(&m.email),
            sk: m.kind.membership_sk(m.id),
            gsi1pk: m.kind.members_gsi(m.id),
            gsi1sk: keys::id_sk(m.user_id),
            gsi2pk: ends
                .as_ref()
                .map(|_| keys::expiring(keys::expiring_shard(&m.email, m.kind, m.id))),
            gsi2sk: ends.map(|e| keys::expiring_sk(e, &m.email, m.kind, m.id)),
            m: m.clone(),
        }
    }
}

repository!(
    /// Members, login claims and memberships.
    MemberRepo
);

impl MemberRepo {
    /// The next member id.
    pub async fn next_id(&self) -> Result<i64> {
        self.table.next_id("user").await
    }

    /// Members with a membership one of whose grants ended before `now` (RFC 3339), oldest
    /// end first (the expiry index: no Scan). Reads the [`keys::EXPIRING_SHARDS`] shards and
    /// the legacy partition side by side, at most `per_partition` memberships from each; what a
    /// run leaves, the next finds (expired entries leave the range once handled). A partition
    /// that cannot be read is logged and skipped; only when none can be read is it an error.
    pub async fn expired(&self, now: &str, per_partition: i32) -> Result<Vec<String>> {
        let partitions = (0..keys::EXPIRING_SHARDS)
            .map(keys::expiring)
            .chain([keys::EXPIRING_LEGACY.to_string()]);
        let reads = partitions.map(|p| async move {
            let out = self.expired_in(&p, now, per_partition).await;
            (p, out)
        });
        let mut found = Vec::new();
        let mut first_error = None;
        let mut read_any = false;
        for (partition, out) in futures::future::join_all(reads).await {
            match out {
                Ok(items) => {
                    read_any = true;
                    found.extend(items);
                }
                Err(e) => {
                    tracing::warn!(error = %e, partition, "expiry index partition not read");
                    first_error.get_or_insert(e);
                }
            }
        }
        if let (false, Some(e)) = (read_any, first_error) {
            return Err(e);
        }
        found.sort();
        let mut emails: Vec<String> = Vec::new();
        for (_, email) in found {
            if !emails.contains(&email) {
                emails.push(email);
            }
        }
        Ok(emails)
    }

    /// One partition of the expiry index: `(sort key, member email)` of entries ended before
    /// `now`, at most `limit`.
    async fn expired_in(
        &self,
        partition: &str,
        now: &str,
        limit: i32,
    ) -> Result<Vec<(String, String)>> {
        let spec = QuerySpec::gsi2(partition).before(now);
        let items = self.table.first(&spec, limit).await?;
        let text = |item: &super::Item, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let email = keys::member_email(&text(&item, "pk"))?.to_string();
                Some((text(&item, "gsi2sk"), email))
            })
            .collect())
    }

    /// One strongly consistent query of the member's partition.
    pub async fn state(&self, email: &str) -> Result<MemberState> {
        let items = self
            .table
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
            } else if sk.starts_with(keys::MEMBER_CUSTOMER_PREFIX) {
                // A customer map's reference (see `ProviderRepo`), not a membership.
                continue;
            } else {
                let m: MembershipItem = from_item(item)?;
                state.of_mut(m.m.kind).insert(m.m.id, m.m);
            }
        }
        Ok(state)
    }

    /// Looks a member up by id (through the `USERS` index), then reads their partition.
    pub async fn by_id(&self, user_id: i64) -> Result<Option<MemberState>> {
        let spec = QuerySpec::gsi1(keys::USERS).prefix(keys::id_sk(user_id));
        let items = self.table.query_all(&spec).await?;
        let Some(item) = items.into_iter().next() else {
            return Ok(None);
        };
        let p: ProfileItem = from_item(item)?;
        let state = self.state(&p.data.email).await?;
        Ok(state.member.is_some().then_some(state))
    }

    pub async fn list(&self, req: &PageRequest) -> Result<Page<Member>> {
        let page = self.table.page(&QuerySpec::gsi1(keys::USERS), req).await?;
        page.try_map(|i| from_item::<ProfileItem>(i).map(|p| p.data))
    }

    /// Members of a space / enrollments of a course, by user id.
    pub async fn memberships(
        &self,
        kind: Kind,
        id: i64,
        req: &PageRequest,
    ) -> Result<Page<Membership>> {
        let page = self
            .table
            .page(&QuerySpec::gsi1(kind.members_gsi(id)), req)
            .await?;
        page.try_map(|i| from_item::<MembershipItem>(i).map(|m| m.m))
    }

    /// Deletes every membership of a deleted space / course (via the GSI, 25 per BatchWriteItem).
    pub async fn delete_memberships_of(&self, kind: Kind, id: i64) -> Result<usize> {
        let items = self
            .table
            .query_all(&QuerySpec::gsi1(kind.members_gsi(id)))
            .await?;
        let keys = items
            .iter()
            .map(|item| {
                ["pk", "sk"]
                    .iter()
                    .filter_map(|n| item.get(*n).map(|v| (n.to_string(), v.clone())))
                    .collect()
            })
            .collect();
        self.table.delete_all(keys).await
    }

    /// Deletes memberships whatever state they are in (erasure), 25 per BatchWriteItem.
    pub async fn delete_memberships(&self, ms: &[Membership]) -> Result<usize> {
        let keys = ms
            .iter()
            .map(|m| super::key(keys::member(&m.email), m.kind.membership_sk(m.id)))
            .collect();
        self.table.delete_all(keys).await
    }

    /// Erasure's last writes of a member: the profile (and so the email's claim), only while
    /// it exists, and the login claim.
    pub fn erase_profile(&self, member: &Member) -> Result<Vec<TransactWriteItem>> {
        Ok(vec![
            self.table
                .delete_existing(&keys::member(&member.email), keys::PROFILE)?,
            self.table.delete(&keys::login(&member.login), "LOGIN")?,
        ])
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
        self.table.put_new(item)
    }

    /// Claims a login, only if no one holds it.
    pub fn put_login_claim(&self, member: &Member) -> Result<TransactWriteItem> {
        let item = to_item(&json!({
            "pk": keys::login(&member.login),
            "sk": "LOGIN",
            "user_id": member.user_id,
            "email": member.email,
        }))?;
        self.table.put_new(item)
    }

    /// Adds a membership, only if it does not exist yet.
    pub fn put_membership(&self, m: &Membership) -> Result<TransactWriteItem> {
        self.table.put_new(to_item(&MembershipItem::of(m))?)
    }

    /// Saves a membership whose grants changed, only if it is still at `prev_rev` (items written
    /// before grants were recorded have no `rev`: they are at 0).
    pub fn update_membership(&self, m: &Membership, prev_rev: i64) -> Result<TransactWriteItem> {
        let item = to_item(&MembershipItem::of(m))?;
        self.put_at_rev(item, prev_rev)
    }

    /// Removes a membership, only if it exists (and, with `rev`, is still at that revision).
    pub fn delete_membership(&self, m: &Membership, rev: Option<i64>) -> Result<TransactWriteItem> {
        let (pk, sk) = (keys::member(&m.email), m.kind.membership_sk(m.id));
        match rev {
            None => self.table.delete_existing(&pk, &sk),
            Some(rev) => self.delete_at_rev(&pk, &sk, rev),
        }
    }
}

/// The condition that a revisioned item is still at `rev` (0: written before revisions).
fn at_rev(rev: i64) -> (&'static str, Option<AttributeValue>) {
    if rev == 0 {
        ("attribute_exists(pk) AND attribute_not_exists(#rev)", None)
    } else {
        ("#rev = :rev", Some(super::n(rev)))
    }
}

impl MemberRepo {
    fn put_at_rev(&self, item: super::Item, rev: i64) -> Result<TransactWriteItem> {
        let (cond, value) = at_rev(rev);
        let put = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .condition_expression(cond)
            .expression_attribute_names("#rev", "rev")
            .set_expression_attribute_values(value.map(|v| [(":rev".to_string(), v)].into()))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_at_rev(&self, pk: &str, sk: &str, rev: i64) -> Result<TransactWriteItem> {
        let (cond, value) = at_rev(rev);
        let del = Delete::builder()
            .table_name(&self.table.name)
            .set_key(Some(super::key(pk, sk)))
            .condition_expression(cond)
            .expression_attribute_names("#rev", "rev")
            .set_expression_attribute_values(value.map(|v| [(":rev".to_string(), v)].into()))
            .build()
            .map_err(Error::dep)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }
}
