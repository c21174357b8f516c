//! Project configs: set, delete, rollback, import, effective config, history.

use crate::error::Reason;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    Core,
    access::{self, Need},
};
use crate::{
    cache::{Generation, Key},
    domain::{self, Caller, Config, ConfigOp, ConfigRevision, RequestMeta, Violations, channel},
    error::{Error, Result},
    events::{self, NewEvent},
    list::{ListParams, Page},
    store::{
        configs::{self, Scope},
        projects::Lock,
    },
};

/// Most entries one import may carry; larger imports go through the export/import task.
pub const MAX_IMPORT_ENTRIES: usize = 1000;

/// One key to import.
#[derive(Debug)]
pub struct ImportEntry {
    pub key: String,
    pub value: Option<Json>,
    pub description: String,
}

/// The effective config of a project and its entity tag.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Effective {
    pub values: Map<String, Json>,
    pub etag: String,
}

pub(crate) fn config_event<'a>(
    event_type: &'static str,
    actor: &Caller,
    c: &Config,
    before: Option<&Config>,
    meta: &'a RequestMeta,
) -> NewEvent<'a> {
    let mut payload = events::payload(c);
    if let (Some(before), Some(obj)) = (before, payload.as_object_mut()) {
        obj.insert("before".into(), events::payload(before));
    }
    let (channels, resource_type) = match c.project_id {
        Some(p) => (vec![channel::project(p)], "config"),
        None => (vec![channel::SYSTEM.to_string()], "setting"),
    };
    NewEvent {
        event_type,
        channels,
        actor_id: Some(actor.user_id),
        resource_type,
        resource_id: c.id.to_string(),
        payload,
        meta,
    }
}

/// Sets a value (and appends its `set` revision) for `project_id`/`key`, creating the entry if needed.
/// An empty description keeps the existing one.
pub(crate) async fn write_value(
    conn: &mut PgConnection,
    author: Uuid,
    project_id: Option<Uuid>,
    key: &str,
    value: &Json,
    description: &str,
    expected: Option<i64>,
) -> Result<(Config, Option<Config>)> {
    let resource = if project_id.is_some() { "config" } else { "setting" };
    let mut existing = configs::get_by_key(conn, project_id, key, true).await?;
    if existing.is_none() {
        domain::check_version(resource, expected.filter(|v| *v != 0), 0)?;
        if let Some(created) = configs::insert(conn, project_id, key, value, description, author).await? {
            configs::insert_revision(conn, &created, ConfigOp::Set, author).await?;
            return Ok((created, None));
        }
        // A concurrent transaction created the key between our read and our insert; its row
        // is committed now, so lock it and carry on as an update.
        existing = configs::get_by_key(conn, project_id, key, true).await?;
    }
    let before = existing.ok_or_else(|| Error::Internal(anyhow::anyhow!("config {key} vanished during write")))?;
    if expected == Some(0) && before.deleted_at.is_none() {
        return Err(Error::already_exists(Reason::KeyExists, format!("{key} already exists")));
    }
    domain::check_version(resource, expected.filter(|v| *v != 0), before.version)?;
    let description = if description.is_empty() { before.description.as_str() } else { description };
    let after = configs::write(conn, before.id, value, description, author, false).await?;
    configs::insert_revision(conn, &after, ConfigOp::Set, author).await?;
    Ok((after, Some(before)))
}

/// The entity tag of a set of entries: a digest of (key, version) pairs, which change whenever
/// any value, key or deletion changes.
pub(crate) fn effective_etag(entries: &[(String, Json, i64)]) -> String {
    let mut h = Sha256::new();
    for (k, _, v) in entries {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.to_be_bytes());
    }
    format!("\"{}\"", &hex::encode(h.finalize())[..24])
}

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub async fn set_config(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        project_id: &str,
        key: &str,
        value: Option<Json>,
        description: &str,
        expected: Option<i64>,
    ) -> Result<Config> {
        let mut v = Violations::new();
        let project_id = v.check(domain::parse_id("project_id", project_id));
        let key = v.check(domain::config_key("key", key));
        let value = v.check(domain::config_value("value", value));
        let description = v.check(domain::description("description", description));
        v.finish()?;
        let (project_id, key, value, description) = (
            project_id.unwrap_or_default(),
            key.unwrap_or_default(),
            value.unwrap_or_default(),
            description.unwrap_or_default(),
        );

        let mut tx = self.begin().await?;
        let project = access::project(&mut tx, caller, Some(project_id), None, Need::WriteConfig, Lock::Share).await?;
        access::writable(&project.project)?;
        let (config, before) =
            write_value(&mut tx, caller.user_id, Some(project_id), &key, &value, &description, expected).await?;
        events::record(&mut tx, config_event("config.set", caller, &config, before.as_ref(), meta)).await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Configs(project_id)]).await;
        Ok(config)
    }

    /// A config the caller may read (any state), with the project lock requested.
    async fn readable_config(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        id: Uuid,
        need: Need,
        lock: Lock,
    ) -> Result<(Config, domain::ProjectView)> {
        let c = configs::get(conn, id, false).await?.ok_or(Error::not_found("config"))?;
        let Some(project_id) = c.project_id else {
            // Settings are not reachable through the config API.
            return Err(Error::not_found("config"));
        };
        let project = access::project(conn, caller, Some(project_id), None, need, lock).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::not_found("config"),
            other => other,
        })?;
        Ok((c, project))
    }

    pub async fn get_config(&self, caller: &Caller, id: &str, project_id: &str, key: &str) -> Result<Config> {
        if !id.is_empty() {
            let id = domain::parse_id("id", id)?;
            let mut conn = self.conn().await?;
            return Ok(self.readable_config(&mut conn, caller, id, Need::Read, Lock::None).await?.0);
        }
        let project_id = domain::parse_id("project_id", project_id)?;
        let key = domain::config_key("key", key)?;
        // Checked before taking a connection: a cache miss takes one of its own.
        self.readable_project(caller, project_id, Need::Read).await?;
        let mut conn = self.conn().await?;
        configs::get_by_key(&mut conn, Some(project_id), &key, false).await?.ok_or(Error::not_found("config"))
    }

    pub async fn list_configs(
        &self,
        caller: &Caller,
        project_id: &str,
        params: ListParams<'_>,
    ) -> Result<Page<Config>> {
        let project_id = domain::parse_optional_id("project_id", project_id)?;
        let scope = self.config_scope(caller, project_id).await?;
        let mut conn = self.conn().await?;
        configs::list(&mut conn, scope, params).await
    }

    async fn config_scope(&self, caller: &Caller, project_id: Option<Uuid>) -> Result<Scope> {
        Ok(match project_id {
            Some(p) => {
                self.readable_project(caller, p, Need::Read).await?;
                Scope::Project(p)
            }
            None if caller.is_admin() => Scope::AllProjects,
            None => Scope::MemberOf(caller.user_id),
        })
    }

    pub async fn delete_config(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        expected: Option<i64>,
    ) -> Result<Config> {
        let id = domain::parse_id("id", id)?;
        let mut tx = self.begin().await?;
        let (_, project) = self.readable_config(&mut tx, caller, id, Need::WriteConfig, Lock::Share).await?;
        access::writable(&project.project)?;
        let before = configs::get(&mut tx, id, true).await?.ok_or(Error::not_found("config"))?;
        domain::check_version("config", expected, before.version)?;
        if before.deleted_at.is_some() {
            return Err(Error::not_found("config"));
        }
        let after = configs::write(&mut tx, id, &before.value, &before.description, caller.user_id, true).await?;
        configs::insert_revision(&mut tx, &after, ConfigOp::Delete, caller.user_id).await?;
        events::record(&mut tx, config_event("config.deleted", caller, &after, Some(&before), meta)).await?;
        self.commit(tx).await?;
        self.bump_configs_of(&after).await;
        Ok(after)
    }

    pub async fn rollback_config(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        id: &str,
        version: i64,
        expected: Option<i64>,
    ) -> Result<Config> {
        let id = domain::parse_id("id", id)?;
        if version < 1 {
            return Err(Error::invalid("version", "must be a version number (1 or more)"));
        }
        let mut tx = self.begin().await?;
        let (_, project) = self.readable_config(&mut tx, caller, id, Need::WriteConfig, Lock::Share).await?;
        access::writable(&project.project)?;
        let before = configs::get(&mut tx, id, true).await?.ok_or(Error::not_found("config"))?;
        domain::check_version("config", expected, before.version)?;
        let target = configs::get_revision(&mut tx, id, version)
            .await?
            .ok_or_else(|| Error::invalid("version", format!("version {version} does not exist")))?;
        if target.op == ConfigOp::Delete {
            return Err(Error::invalid(
                "version",
                format!("version {version} is a deletion; roll back to a version that set a value"),
            ));
        }
        let after = configs::write(&mut tx, id, &target.value, &target.description, caller.user_id, false).await?;
        configs::insert_revision(&mut tx, &after, ConfigOp::Rollback, caller.user_id).await?;
        events::record(&mut tx, config_event("config.rolled_back", caller, &after, Some(&before), meta)).await?;
        self.commit(tx).await?;
        self.bump_configs_of(&after).await;
        Ok(after)
    }

    /// Sets every entry in one transaction; any invalid entry fails the whole import, and the
    /// error lists every bad entry (`entries[i].key`, ...).
    pub async fn import_configs(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        project_id: &str,
        entries: Vec<ImportEntry>,
    ) -> Result<Vec<Config>> {
        let project_id = domain::parse_id("project_id", project_id)?;
        if entries.is_empty() {
            return Err(Error::invalid("entries", "must not be empty"));
        }
        if entries.len() > MAX_IMPORT_ENTRIES {
            return Err(Error::invalid("entries", format!("at most {MAX_IMPORT_ENTRIES} entries per import")));
        }
        let mut v = Violations::new();
        let mut seen = std::collections::HashSet::new();
        let mut parsed = Vec::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let key = v.check(domain::config_key(&format!("entries[{i}].key"), &e.key));
            if let Some(k) = &key
                && !seen.insert(k.clone())
            {
                v.push(format!("entries[{i}].key"), format!("{k} appears more than once"));
            }
            let value = v.check(domain::config_value(&format!("entries[{i}].value"), e.value));
            let description = v.check(domain::description(&format!("entries[{i}].description"), &e.description));
            if let (Some(k), Some(val), Some(d)) = (key, value, description) {
                parsed.push((k, val, d));
            }
        }
        v.finish()?;

        let mut tx = self.begin().await?;
        let project = access::project(&mut tx, caller, Some(project_id), None, Need::WriteConfig, Lock::Share).await?;
        access::writable(&project.project)?;
        let mut out = Vec::with_capacity(parsed.len());
        for (key, value, description) in &parsed {
            let (c, _) = write_value(&mut tx, caller.user_id, Some(project_id), key, value, description, None).await?;
            out.push(c);
        }
        let payload = serde_json::json!({ "project_id": project_id, "configs": events::payload(&out) });
        events::record(
            &mut tx,
            NewEvent {
                event_type: "config.imported",
                channels: vec![channel::project(project_id)],
                actor_id: Some(caller.user_id),
                resource_type: "project",
                resource_id: project_id.to_string(),
                payload,
                meta,
            },
        )
        .await?;
        self.commit(tx).await?;
        self.cache.bump(&[Generation::Configs(project_id)]).await;
        Ok(out)
    }

    async fn bump_configs_of(&self, c: &Config) {
        if let Some(p) = c.project_id {
            self.cache.bump(&[Generation::Configs(p)]).await;
        }
    }

    pub async fn effective_config(&self, caller: &Caller, project_id: &str) -> Result<Effective> {
        let project_id = domain::parse_id("project_id", project_id)?;
        self.readable_project(caller, project_id, Need::Read).await?;
        let key = Key { kind: "effective_config", generation: Generation::Configs(project_id), name: String::new() };
        self.cache
            .get_or_load(key, || async move {
                let mut conn = self.conn().await?;
                let entries = configs::effective(&mut conn, project_id).await?;
                let etag = effective_etag(&entries);
                let values = entries.into_iter().map(|(k, v, _)| (k, v)).collect();
                Ok(Effective { values, etag })
            })
            .await
    }

    pub async fn list_config_revisions(
        &self,
        caller: &Caller,
        config_id: &str,
        project_id: &str,
        params: ListParams<'_>,
    ) -> Result<Page<ConfigRevision>> {
        let config_id = domain::parse_optional_id("config_id", config_id)?;
        let project_id = domain::parse_optional_id("project_id", project_id)?;
        // `config_scope` may take a connection of its own (a cache miss): never while we hold one.
        let scope = match config_id {
            None => self.config_scope(caller, project_id).await?,
            Some(id) => {
                let mut conn = self.conn().await?;
                Scope::Project(self.readable_config(&mut conn, caller, id, Need::Read, Lock::None).await?.1.project.id)
            }
        };
        let mut conn = self.conn().await?;
        configs::list_revisions(&mut conn, scope, config_id, params).await
    }

    pub async fn get_config_revision(&self, caller: &Caller, id: &str) -> Result<ConfigRevision> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.conn().await?;
        let rev = configs::get_revision_by_id(&mut conn, id).await?.ok_or(Error::not_found("config_revision"))?;
        self.readable_config(&mut conn, caller, rev.config_id, Need::Read, Lock::None)
            .await
            .map_err(|e| if matches!(e, Error::NotFound { .. }) { Error::not_found("config_revision") } else { e })?;
        Ok(rev)
    }
}
