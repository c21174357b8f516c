//! System settings: configs without a project. Any authenticated user reads; admins write.

use serde_json::Value as Json;

use super::{
    Core, access,
    configs::{config_event, write_value},
};
use crate::{
    domain::{self, Caller, Config, ConfigOp, RequestMeta, Violations},
    error::{Error, Result},
    events,
    list::{ListParams, Page},
    store::configs::{self, Scope},
};

/// Settings the platform itself reads, with the shape their value must have.
const KNOWN: &[(&str, &str)] =
    &[("auth.signup_enabled", "a boolean"), ("events.retention_days", "an integer from 1 to 3650")];

fn check_known(key: &str, value: &Json) -> Result<()> {
    let ok = match key {
        "auth.signup_enabled" => value.is_boolean(),
        "events.retention_days" => value.as_i64().is_some_and(|d| (1..=3650).contains(&d)),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    let shape = KNOWN.iter().find(|(k, _)| *k == key).map_or("valid", |(_, s)| s);
    Err(Error::invalid("value", format!("{key} must be {shape}")))
}

impl Core {
    /// A setting by key, or by id.
    pub async fn get_setting(&self, _caller: &Caller, key_or_id: &str) -> Result<Config> {
        let mut conn = self.conn().await?;
        let found = match uuid::Uuid::parse_str(key_or_id) {
            Ok(id) => configs::get(&mut conn, id, false).await?.filter(|c| c.project_id.is_none()),
            Err(_) => configs::get_by_key(&mut conn, None, &domain::config_key("key", key_or_id)?, false).await?,
        };
        found.filter(|c| c.deleted_at.is_none()).ok_or(Error::not_found("setting"))
    }

    pub async fn list_settings(&self, _caller: &Caller, params: ListParams<'_>) -> Result<Page<Config>> {
        let mut conn = self.conn().await?;
        configs::list(&mut conn, Scope::Settings, params).await
    }

    pub async fn set_setting(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        key: &str,
        value: Option<Json>,
        description: &str,
        expected: Option<i64>,
    ) -> Result<Config> {
        access::admin(caller)?;
        let mut v = Violations::new();
        let key = v.check(domain::config_key("key", key));
        let value = v.check(domain::config_value("value", value));
        let description = v.check(domain::description("description", description));
        v.finish()?;
        let (key, value, description) =
            (key.unwrap_or_default(), value.unwrap_or_default(), description.unwrap_or_default());
        check_known(&key, &value)?;
        let mut tx = self.begin().await?;
        let (setting, before) =
            write_value(&mut tx, caller.user_id, None, &key, &value, &description, expected).await?;
        events::record(&mut tx, config_event("setting.changed", caller, &setting, before.as_ref(), meta)).await?;
        self.commit(tx).await?;
        Ok(setting)
    }

    pub async fn delete_setting(
        &self,
        caller: &Caller,
        meta: &RequestMeta,
        key_or_id: &str,
        expected: Option<i64>,
    ) -> Result<Config> {
        access::admin(caller)?;
        let current = self.get_setting(caller, key_or_id).await?;
        let mut tx = self.begin().await?;
        let before = configs::get(&mut tx, current.id, true)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .ok_or(Error::not_found("setting"))?;
        domain::check_version("setting", expected, before.version)?;
        let after =
            configs::write(&mut tx, before.id, &before.value, &before.description, caller.user_id, true).await?;
        configs::insert_revision(&mut tx, &after, ConfigOp::Delete, caller.user_id).await?;
        events::record(&mut tx, config_event("setting.changed", caller, &after, Some(&before), meta)).await?;
        self.commit(tx).await?;
        Ok(after)
    }

    /// A boolean setting the platform reads itself (None when unset or deleted).
    pub async fn setting_bool(&self, key: &str) -> Result<Option<bool>> {
        let mut conn = self.conn().await?;
        Ok(configs::get_by_key(&mut conn, None, key, false)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .and_then(|c| c.value.as_bool()))
    }

    /// An integer setting the platform reads itself (None when unset, deleted or not an integer).
    pub async fn setting_i64(&self, key: &str) -> Result<Option<i64>> {
        let mut conn = self.conn().await?;
        Ok(configs::get_by_key(&mut conn, None, key, false)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .and_then(|c| c.value.as_i64().or_else(|| c.value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))))
    }
}
