//! Who may do what to a project (docs/PRODUCT.md §4 "Permissions").
//!
//! Non-members get NOT_FOUND for a project and everything under it, never PERMISSION_DENIED,
//! so that existence does not leak. Members who lack the role get PERMISSION_DENIED.

use crate::error::Reason;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Core;
use crate::{
    cache::{Generation, Key},
    domain::{Caller, MemberRole, Project, ProjectStatus, ProjectView},
    error::{Error, Result},
    store::projects::{self, Lock, WithRole},
};

/// What the caller wants to do, mapped to the role it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read the project, members, configs, history, events.
    Read,
    /// Write configs (set, delete, rollback, import).
    WriteConfig,
    /// Update the project, manage members, archive, delete, export.
    Manage,
}

impl Need {
    fn role(self) -> MemberRole {
        match self {
            Need::Read => MemberRole::Viewer,
            Need::WriteConfig => MemberRole::Editor,
            Need::Manage => MemberRole::Owner,
        }
    }
}

/// Loads the project (by id or slug) as the caller may see it, and checks `need`.
pub async fn project(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Option<Uuid>,
    slug: Option<&str>,
    need: Need,
    lock: Lock,
) -> Result<ProjectView> {
    let row = projects::get_with_role(conn, id, slug, caller.user_id, lock).await?;
    decide(row, caller, need)
}

impl Core {
    /// Like [`project`] for reads (no lock), served from the cache: the hot path of every
    /// read under a project.
    pub async fn readable_project(&self, caller: &Caller, id: Uuid, need: Need) -> Result<ProjectView> {
        let key = Key { kind: "project", generation: Generation::Project(id), name: caller.user_id.to_string() };
        let user = caller.user_id;
        let row = self
            .cache
            .get_or_load(key, || async move {
                let mut conn = self.conn().await?;
                projects::get_with_role(&mut conn, Some(id), None, user, Lock::None).await
            })
            .await?;
        decide(row, caller, need)
    }
}

/// The rule, given the project and the caller's membership.
fn decide(row: Option<WithRole>, caller: &Caller, need: Need) -> Result<ProjectView> {
    let row = row.ok_or(Error::not_found("project"))?;
    let role = row.role();
    let caller_role = match (role, caller.is_admin()) {
        (_, true) => MemberRole::Owner,
        (Some(r), false) => r,
        (None, false) => return Err(Error::not_found("project")),
    };
    if !caller_role.at_least(need.role()) {
        return Err(Error::permission_denied(match need {
            Need::Read => "reading this project needs the viewer role",
            Need::WriteConfig => "writing configs needs the editor or owner role",
            Need::Manage => "this needs the owner role",
        }));
    }
    Ok(ProjectView { project: row.project, caller_role })
}

/// Archived projects are read-only until unarchived.
pub fn writable(p: &Project) -> Result<()> {
    if p.status == ProjectStatus::Archived {
        Err(Error::failed_precondition(Reason::ProjectArchived, "the project is archived; unarchive it first"))
    } else {
        Ok(())
    }
}

pub fn admin(caller: &Caller) -> Result<()> {
    if caller.is_admin() { Ok(()) } else { Err(Error::permission_denied("this needs the admin role")) }
}
