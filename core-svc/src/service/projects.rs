use super::{
    Core,
    access::{self, Need},
    users::parse_ids,
};
use crate::{
    cache::Generation,
    domain::{self, Caller, Member, MemberRole, Project, ProjectStatus, ProjectView, RequestMeta, Violations, channel},
    error::{Error, Result},
    events::{self, NewEvent},
    list::{ListParams, Page},
    store::{
        members,
        projects::{self, Lock},
    },
};

#[derive(Debug, Default)]
pub struct ProjectPatch {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<String>,
}

/// An event on the project's channel; `before` (for updates) rides along in the payload.
pub(crate) fn project_event<'a>(
    event_type: &'static str,
    actor: &Caller,
    p: &Project,
    before: Option<&Project>,
    extra_channels: &[String],
    meta: &'a RequestMeta,
) -> NewEvent<'a> {
    let mut payload = events::payload(p);
    if let (Some(before), Some(obj)) = (before, payload.as_object_mut()) {
        obj.insert("before".into(), events::payload(before));
    }
    let mut channels = vec![channel::project(p.id)];
    channels.extend_from_slice(extra_channels);
    NewEvent {
        event_type,
        channels,
        actor_id: Some(actor.user_id),
        resource_type: "project",
        resource_id: p.id.to_string(),
        payload,
        meta,
    }
}

fn view(row: projects::WithRole, caller: &Caller) -> ProjectView {
    let caller_role = if caller.is_admin() { MemberRole::Owner } else { row.role().unwrap_or(MemberRole::Viewer) };
    ProjectView { project: row.project, caller_role }
}

impl Core {
    pub async fn create_project(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        slug: &str,
        name: &str,
        description: &str,
    ) -> Result<ProjectView> {
        let mut v = Violations::new();
        let slug = v.check(domain::slug("slug", slug));
        let name = v.check(domain::name("name", name));
        let description = v.check(domain::description("description", description));
        v.finish()?;
        let now = chrono::Utc::now();
        let draft = Project {
            id: domain::new_id(),
            slug: slug.unwrap_or_default(),
            name: name.unwrap_or_default(),
            description: description.unwrap_or_default(),
            status: ProjectStatus::Active,
            owner_id: caller.user_id,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin().await?;
        let project = projects::insert(&mut tx, &draft).await?;
        let owner = Member {
            id: domain::new_id(),
            project_id: project.id,
            user_id: caller.user_id,
            role: MemberRole::Owner,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        members::insert(&mut tx, &owner).await?;
        events::record(
            &mut tx,
            project_event("project.created", caller, &project, None, &[channel::user(caller.user_id)], meta),
        )
        .await?;
        self.commit(tx).await?;
        Ok(ProjectView { project, caller_role: MemberRole::Owner })
    }

    pub async fn get_project(&self, caller: &Caller, id: &str, slug: &str) -> Result<ProjectView> {
        let (id, slug) = match (id.is_empty(), slug.is_empty()) {
            (false, true) => (Some(domain::parse_id("id", id)?), None),
            (true, false) => (None, Some(slug)),
            _ => return Err(Error::invalid("id", "give exactly one of id and slug")),
        };
        if let Some(id) = id {
            return self.readable_project(caller, id, Need::Read).await;
        }
        let mut conn = self.conn().await?;
        access::project(&mut conn, caller, id, slug, Need::Read, Lock::None).await
    }

    pub async fn batch_get_projects(&self, caller: &Caller, ids: &[String]) -> Result<Vec<ProjectView>> {
        let ids = parse_ids(ids)?;
        let mut conn = self.conn().await?;
        let rows = projects::get_many(&mut conn, caller.user_id, caller.is_admin(), &ids).await?;
        Ok(rows.into_iter().map(|r| view(r, caller)).collect())
    }

    pub async fn list_projects(&self, caller: &Caller, params: ListParams<'_>) -> Result<Page<ProjectView>> {
        let mut conn = self.conn().await?;
        let page = projects::list(&mut conn, caller.user_id, caller.is_admin(), params).await?;
        Ok(page.map(|r| view(r, caller)))
    }

    pub async fn update_project(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        patch: ProjectPatch,
        expected: Option<i64>,
    ) -> Result<ProjectView> {
        let id = domain::parse_id("project.id", id)?;
        let mut v = Violations::new();
        let slug = patch.slug.as_deref().and_then(|s| v.check(domain::slug("project.slug", s)));
        let name = patch.name.as_deref().and_then(|s| v.check(domain::name("project.name", s)));
        let description =
            patch.description.as_deref().and_then(|s| v.check(domain::description("project.description", s)));
        let owner_id = patch.owner_id.as_deref().and_then(|s| v.check(domain::parse_id("project.owner_id", s)));
        v.finish()?;

        let mut tx = self.begin().await?;
        let current = access::project(&mut tx, caller, Some(id), None, Need::Manage, Lock::Update).await?;
        access::writable(&current.project)?;
        domain::check_version("project", expected, current.project.version)?;
        let before = current.project;
        let mut after = before.clone();
        if let Some(s) = slug {
            after.slug = s;
        }
        if let Some(n) = name {
            after.name = n;
        }
        if let Some(d) = description {
            after.description = d;
        }
        if let Some(owner) = owner_id {
            if owner != before.owner_id && !members::other_owners(&mut tx, id, before.owner_id).await?.contains(&owner)
            {
                return Err(Error::invalid("project.owner_id", "must be a member with the owner role"));
            }
            after.owner_id = owner;
        }
        let project = projects::update(&mut tx, &after).await?;
        events::record(&mut tx, project_event("project.updated", caller, &project, Some(&before), &[], meta)).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Project(project.id)]).await;
        Ok(ProjectView { project, caller_role: current.caller_role })
    }

    /// Archives or unarchives; a no-op (no new version, no event) when already in that state.
    pub async fn set_project_status(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        status: ProjectStatus,
        expected: Option<i64>,
    ) -> Result<ProjectView> {
        let id = domain::parse_id("id", id)?;
        let mut tx = self.begin().await?;
        let current = access::project(&mut tx, caller, Some(id), None, Need::Manage, Lock::Update).await?;
        domain::check_version("project", expected, current.project.version)?;
        if current.project.status == status {
            return Ok(current);
        }
        let before = current.project;
        let mut after = before.clone();
        after.status = status;
        let project = projects::update(&mut tx, &after).await?;
        let event_type = match status {
            ProjectStatus::Archived => "project.archived",
            ProjectStatus::Active => "project.unarchived",
        };
        events::record(&mut tx, project_event(event_type, caller, &project, Some(&before), &[], meta)).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Project(project.id)]).await;
        Ok(ProjectView { project, caller_role: current.caller_role })
    }

    /// Deletes the project, its members and configs; returns it as it was.
    pub async fn delete_project(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        expected: Option<i64>,
    ) -> Result<ProjectView> {
        let id = domain::parse_id("id", id)?;
        let mut tx = self.begin().await?;
        let current = access::project(&mut tx, caller, Some(id), None, Need::Manage, Lock::Update).await?;
        domain::check_version("project", expected, current.project.version)?;
        // Members learn on their own channel that the project is gone.
        let member_channels: Vec<String> =
            members::user_ids(&mut tx, id).await?.into_iter().map(channel::user).collect();
        projects::delete(&mut tx, id).await?;
        events::record(
            &mut tx,
            project_event("project.deleted", caller, &current.project, None, &member_channels, meta),
        )
        .await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Project(id), Generation::Configs(id)]).await;
        Ok(current)
    }
}
