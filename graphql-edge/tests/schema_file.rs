//! `schema.graphql` is the committed contract: this fails when the code's schema drifts from it.
//! `UPDATE_SCHEMA=1 cargo test -p graphql-edge --test schema_file` rewrites it.

#[test]
fn committed_sdl_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let sdl = graphql_edge::schema::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "graphql-edge/schema.graphql is out of date: run UPDATE_SCHEMA=1 cargo test -p graphql-edge --test schema_file"
    );
}
