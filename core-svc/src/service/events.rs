use super::Core;
use crate::{
    domain::{self, Caller, Event},
    error::{Error, Result},
    list::{ListParams, Page},
    store::events,
};

impl Core {
    /// The audit log as the caller may see it: admins everything; others the `system`
    /// channel, their own `user:` channel and the channels of their projects.
    pub async fn list_events(&self, caller: &Caller, params: ListParams<'_>) -> Result<Page<Event>> {
        let mut conn = self.db.acquire().await?;
        events::list(&mut conn, caller.user_id, caller.is_admin(), params).await
    }

    pub async fn get_event(&self, caller: &Caller, id: &str) -> Result<Event> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.db.acquire().await?;
        events::get(&mut conn, caller.user_id, caller.is_admin(), id).await?.ok_or(Error::not_found("event"))
    }
}
