use crate::error::Reason;
use uuid::Uuid;

use super::{
    Core,
    access::{self, Need},
    projects::project_event,
};
use crate::{
    cache::Generation,
    domain::{self, Caller, Member, MemberRole, RequestMeta, channel},
    error::{Error, Result},
    events::{self, NewEvent},
    list::{ListParams, Page},
    store::{
        members,
        projects::{self, Lock},
        users,
    },
};

fn member_event<'a>(
    event_type: &'static str,
    actor: &Caller,
    m: &Member,
    before: Option<&Member>,
    meta: &'a RequestMeta,
) -> NewEvent<'a> {
    let mut payload = events::payload(m);
    if let (Some(before), Some(obj)) = (before, payload.as_object_mut()) {
        obj.insert("before".into(), events::payload(before));
    }
    NewEvent {
        event_type,
        channels: vec![channel::project(m.project_id), channel::user(m.user_id)],
        actor_id: Some(actor.user_id),
        resource_type: "member",
        resource_id: m.id.to_string(),
        payload,
        meta,
    }
}

impl Core {
    pub async fn add_member(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        project_id: &str,
        user_id: &str,
        email: &str,
        role: Option<MemberRole>,
    ) -> Result<Member> {
        let project_id = domain::parse_id("project_id", project_id)?;
        let role = role.ok_or_else(|| Error::invalid("role", "is required: owner, editor or viewer"))?;
        let mut tx = self.begin().await?;
        let project = access::project(&mut tx, caller, Some(project_id), None, Need::Manage, Lock::Update).await?;
        access::writable(&project.project)?;
        let user = match (user_id.is_empty(), email.is_empty()) {
            (false, _) => users::get(&mut tx, domain::parse_id("user_id", user_id)?).await?,
            (true, false) => users::get_by_email(&mut tx, email).await?,
            (true, true) => return Err(Error::invalid("user_id", "give user_id or email")),
        };
        // Owners may add any user they can name; an unknown one is a client error on the
        // field, not a hidden resource.
        let user =
            user.ok_or_else(|| Error::invalid(if user_id.is_empty() { "email" } else { "user_id" }, "no such user"))?;
        let now = chrono::Utc::now();
        let draft = Member {
            id: domain::new_id(),
            project_id,
            user_id: user.id,
            role,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let member = members::insert(&mut tx, &draft).await?;
        events::record(&mut tx, member_event("member.added", caller, &member, None, meta)).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Project(member.project_id)]).await;
        Ok(member)
    }

    /// The membership, if the caller may read its project.
    async fn visible_member(
        &self,
        conn: &mut sqlx::PgConnection,
        caller: &Caller,
        id: Uuid,
        need: Need,
        lock: Lock,
    ) -> Result<(Member, domain::ProjectView)> {
        let m = members::get(conn, id).await?.ok_or(Error::not_found("member"))?;
        let project =
            access::project(conn, caller, Some(m.project_id), None, need, lock).await.map_err(hide_as_member)?;
        Ok((m, project))
    }

    pub async fn get_member(&self, caller: &Caller, id: &str) -> Result<Member> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        Ok(self.visible_member(&mut conn, caller, id, Need::Read, Lock::None).await?.0)
    }

    pub async fn list_members(
        &self,
        caller: &Caller,
        project_id: &str,
        params: ListParams<'_>,
    ) -> Result<Page<Member>> {
        let project_id = domain::parse_optional_id("project_id", project_id)?;
        if let Some(p) = project_id {
            self.readable_project(caller, p, Need::Read).await?;
        }
        let mut conn = self.conn().await?;
        members::list(&mut conn, caller.user_id, caller.is_admin(), project_id, params).await
    }

    pub async fn update_member(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        role: Option<MemberRole>,
        expected: Option<i64>,
    ) -> Result<Member> {
        let id = domain::parse_id("id", id)?;
        let role = role.ok_or_else(|| Error::invalid("role", "is required: owner, editor or viewer"))?;
        let mut tx = self.begin().await?;
        // Lock the project first: membership changes of one project are serialised, which is
        // what makes the "at least one owner" check below race-free.
        let peek = members::get(&mut tx, id).await?.ok_or(Error::not_found("member"))?;
        let project = access::project(&mut tx, caller, Some(peek.project_id), None, Need::Manage, Lock::Update)
            .await
            .map_err(hide_as_member)?;
        access::writable(&project.project)?;
        let before = members::get(&mut tx, id).await?.ok_or(Error::not_found("member"))?;
        domain::check_version("member", expected, before.version)?;
        if before.role == role {
            return Ok(before);
        }
        if before.role == MemberRole::Owner {
            self.hand_over_ownership(&mut tx, caller, meta, &project.project, before.user_id).await?;
        }
        let member = members::update_role(&mut tx, id, role).await?;
        events::record(&mut tx, member_event("member.updated", caller, &member, Some(&before), meta)).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Project(member.project_id)]).await;
        Ok(member)
    }

    /// Owners remove anyone; any member may leave.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        expected: Option<i64>,
    ) -> Result<Member> {
        let id = domain::parse_id("id", id)?;
        let mut tx = self.begin().await?;
        let peek = members::get(&mut tx, id).await?.ok_or(Error::not_found("member"))?;
        let need = if peek.user_id == caller.user_id { Need::Read } else { Need::Manage };
        let project = access::project(&mut tx, caller, Some(peek.project_id), None, need, Lock::Update)
            .await
            .map_err(hide_as_member)?;
        access::writable(&project.project)?;
        let before = members::get(&mut tx, id).await?.ok_or(Error::not_found("member"))?;
        domain::check_version("member", expected, before.version)?;
        if before.role == MemberRole::Owner {
            self.hand_over_ownership(&mut tx, caller, meta, &project.project, before.user_id).await?;
        }
        members::delete(&mut tx, id).await?;
        events::record(&mut tx, member_event("member.removed", caller, &before, None, meta)).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Project(before.project_id)]).await;
        Ok(before)
    }

    /// Called before `leaving` stops being an owner: refuses if they are the last owner, and
    /// moves `projects.owner_id` to the longest-standing other owner if it pointed at them
    /// (a change of the project: new version, `project.updated` event).
    async fn hand_over_ownership(
        &self,
        conn: &mut sqlx::PgConnection,
        caller: &Caller,
        meta: &RequestMeta,
        project: &domain::Project,
        leaving: Uuid,
    ) -> Result<()> {
        let others = members::other_owners(conn, project.id, leaving).await?;
        let Some(next) = others.first() else {
            return Err(Error::failed_precondition(
                Reason::LastOwner,
                "a project must keep at least one owner; make someone else owner first",
            ));
        };
        if project.owner_id == leaving {
            let mut after = project.clone();
            after.owner_id = *next;
            let after = projects::update(conn, &after).await?;
            events::record(conn, project_event("project.updated", caller, &after, Some(project), &[], meta)).await?;
        }
        Ok(())
    }
}

fn hide_as_member(e: Error) -> Error {
    match e {
        Error::NotFound { .. } => Error::not_found("member"),
        other => other,
    }
}
