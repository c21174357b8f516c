//! DataLoaders: per request (they carry the caller's credentials), they gather the keys that
//! resolvers ask for in one tick and fetch them with one gRPC call per batch, so a list of N
//! projects with owners and members costs a constant number of calls, not O(N).

use proto::Services as _;
use std::{collections::HashMap, sync::Arc, time::Duration};

use async_graphql::dataloader::{DataLoader, Loader};
use edge_kit::CoreError;
use proto::v1 as pb;

use crate::{context::Core, convert::quote};

/// core-svc's limits: ids per BatchGet call, page size, filter length.
const MAX_IDS_PER_CALL: usize = 1000;
const MAX_PAGE_SIZE: i32 = 1000;
/// Below core's 4096 bytes, with room for the parentheses.
const MAX_FILTER_BYTES: usize = 4000;
/// The member order of every members list, so that cursors from the batched first page and from
/// later (per-project) pages agree.
pub const MEMBER_ORDER: &str = "create_time asc";

/// Users by id, with BatchGetUsers (users the caller may not see are simply absent).
pub struct UserById(pub Core);

impl Loader<String> for UserById {
    type Value = pb::User;
    type Error = CoreError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, pb::User>, CoreError> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_IDS_PER_CALL) {
            let r = self
                .0
                .users()
                .batch_get_users(self.0.req(pb::BatchGetUsersRequest { ids: chunk.to_vec() }))
                .await
                .map_err(CoreError::from)?;
            out.extend(r.into_inner().users.into_iter().map(|u| (u.id.clone(), u)));
        }
        Ok(out)
    }
}

/// Every member of each project, with one ListMembers filtered by
/// `(project_id = "a" OR project_id = "b" …)` per chunk of projects that fits core's filter limit.
pub struct MembersByProject(pub Core);

impl Loader<String> for MembersByProject {
    type Value = Vec<pb::Member>;
    type Error = CoreError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Vec<pb::Member>>, CoreError> {
        let mut out: HashMap<String, Vec<pb::Member>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for filter in project_filters(keys) {
            let mut page_token = String::new();
            loop {
                let r = self
                    .0
                    .members()
                    .list_members(self.0.req(pb::ListMembersRequest {
                        page_size: MAX_PAGE_SIZE,
                        page_token: page_token.clone(),
                        filter: filter.clone(),
                        order_by: MEMBER_ORDER.into(),
                        ..Default::default()
                    }))
                    .await
                    .map_err(CoreError::from)?
                    .into_inner();
                for m in r.members {
                    out.entry(m.project_id.clone()).or_default().push(m);
                }
                if r.next_page_token.is_empty() {
                    break;
                }
                page_token = r.next_page_token;
            }
        }
        Ok(out)
    }
}

/// `(project_id = "…" OR …)` filters, each within [`MAX_FILTER_BYTES`].
fn project_filters(ids: &[String]) -> Vec<String> {
    let mut filters = Vec::new();
    let mut current = String::new();
    for id in ids {
        let term = format!("project_id = {}", quote(id));
        if !current.is_empty() && current.len() + term.len() + 6 > MAX_FILTER_BYTES {
            filters.push(format!("({current})"));
            current.clear();
        }
        if !current.is_empty() {
            current.push_str(" OR ");
        }
        current.push_str(&term);
    }
    if !current.is_empty() {
        filters.push(format!("({current})"));
    }
    filters
}

/// How long a loader gathers keys before it calls core-svc. async-graphql's 1 ms default can
/// split the users of a 50-project page into several batches; a few ms more keeps it to one.
const BATCH_DELAY: Duration = Duration::from_millis(3);

/// The loaders of one request.
pub fn for_request(core: &Core) -> (Arc<DataLoader<UserById>>, Arc<DataLoader<MembersByProject>>) {
    (
        Arc::new(DataLoader::new(UserById(core.clone()), tokio::spawn).delay(BATCH_DELAY)),
        Arc::new(DataLoader::new(MembersByProject(core.clone()), tokio::spawn).delay(BATCH_DELAY)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_chunked_below_cores_limit() {
        let ids: Vec<String> = (0..500).map(|i| format!("0190b5a4-0000-7000-8000-{i:012}")).collect();
        let filters = project_filters(&ids);
        assert!(filters.len() > 1);
        assert!(filters.iter().all(|f| f.len() <= 4096 && f.starts_with('(') && f.ends_with(')')));
        let n: usize = filters.iter().map(|f| f.matches("project_id = ").count()).sum();
        assert_eq!(n, 500);
        assert_eq!(project_filters(&ids[..1]), vec![format!("(project_id = \"{}\")", ids[0])]);
    }
}
