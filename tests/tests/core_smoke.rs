//! The shortest path through core-svc: admin logs in, creates a project and a config, and the
//! change shows up in the event log with a sequence number.

use proto::Services as _;
use tests::{api as pb, authed, spawn_core, value};

#[tokio::test]
async fn admin_creates_project_and_config() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "smoke").await;
    let config = core
        .configs()
        .set_config(authed(
            pb::SetConfigRequest {
                project_id: project.id.clone(),
                key: "feature.x".into(),
                value: Some(value(serde_json::json!({"on": true}))),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert_eq!(config.version, 1);
    let events = core.wait_events(&admin, &format!("channel = \"project:{}\"", project.id), 2).await;
    let types: Vec<_> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, ["project.created", "config.set"]);
    assert!(events[0].seq < events[1].seq && events[0].seq > 0);
    core.stop().await;
}
