//! Architecture invariant: the edges are stateless translators. Only core-svc touches PostgreSQL
//! and Redis, so no edge (nor the kit they share) may depend on core-svc or on a storage client,
//! directly or through any chain of dependencies.
//!
//! Checked on the resolved graph from `cargo metadata`, following normal and build dependencies
//! (what ends up in the edge binaries). Dev-dependencies are not followed: they never reach a
//! binary, and end-to-end tests that need the real core live in this `tests` crate.

use std::{
    collections::{HashMap, VecDeque},
    path::Path,
    process::Command,
};

use serde_json::Value;

const EDGES: &[&str] = &["rest-edge", "graphql-edge", "realtime-edge", "edge-kit"];
const FORBIDDEN: &[&str] = &["core-svc", "sqlx", "sqlx-core", "sqlx-postgres", "redis"];

/// The resolved dependency graph of the workspace.
struct Graph {
    /// package id → package name
    names: HashMap<String, String>,
    /// package id → ids of its normal and build dependencies
    deps: HashMap<String, Vec<String>>,
}

impl Graph {
    fn load() -> Self {
        let workspace_root =
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the tests crate sits in the workspace root");
        let output = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1"])
            .current_dir(workspace_root)
            .output()
            .expect("cargo metadata runs");
        assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");

        let names = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (text(&p["id"]), text(&p["name"])))
            .collect();
        let deps = metadata["resolve"]["nodes"]
            .as_array()
            .expect("resolve.nodes (cargo metadata without --no-deps)")
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .expect("deps")
                    .iter()
                    .filter(|dep| reaches_binaries(dep))
                    .map(|dep| text(&dep["pkg"]))
                    .collect();
                (text(&node["id"]), deps)
            })
            .collect();
        Self { names, deps }
    }

    fn id_of(&self, name: &str) -> &str {
        let ids: Vec<&String> = self.names.iter().filter(|(_, n)| *n == name).map(|(id, _)| id).collect();
        assert_eq!(ids.len(), 1, "expected exactly one package named {name}, found {ids:?}");
        ids[0]
    }

    /// For every forbidden package reachable from `root`, one shortest path to it, as names.
    fn forbidden_paths(&self, root: &str) -> Vec<Vec<&str>> {
        let root = self.id_of(root);
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([root]);
        let mut found = Vec::new();
        while let Some(id) = queue.pop_front() {
            if id != root && FORBIDDEN.contains(&self.names[id].as_str()) {
                let mut path = vec![id];
                while let Some(&up) = parent.get(path[path.len() - 1]) {
                    path.push(up);
                }
                path.reverse();
                found.push(path.iter().map(|id| self.names[*id].as_str()).collect());
                // Whatever lies beyond a forbidden package is reported through it already.
                continue;
            }
            for dep in self.deps.get(id).into_iter().flatten() {
                if dep != root && !parent.contains_key(dep.as_str()) {
                    parent.insert(dep, id);
                    queue.push_back(dep);
                }
            }
        }
        found
    }
}

/// A dependency edge counts when any of its kinds is normal (`null`) or build. Older cargo
/// without `dep_kinds` gets the conservative answer: it counts.
fn reaches_binaries(dep: &Value) -> bool {
    match dep["dep_kinds"].as_array() {
        None => true,
        Some(kinds) => kinds.iter().any(|k| k["kind"].is_null() || k["kind"] == "build"),
    }
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

#[test]
fn edges_never_depend_on_core_svc_or_storage_clients() {
    let graph = Graph::load();
    let violations: Vec<String> =
        EDGES.iter().flat_map(|edge| graph.forbidden_paths(edge)).map(|path| path.join(" -> ")).collect();
    assert!(violations.is_empty(), "edges must not depend on {FORBIDDEN:?}; found:\n  {}", violations.join("\n  "));
}

/// Guards the guard: if the walk were broken (say, cargo renamed a field), the test above would
/// pass vacuously. core-svc does own the storage clients, so the walk must find them from there.
#[test]
fn the_walk_finds_storage_clients_from_core_svc() {
    let graph = Graph::load();
    let found: Vec<String> =
        graph.forbidden_paths("core-svc").iter().map(|path| path[path.len() - 1].to_owned()).collect();
    for storage in ["sqlx", "redis"] {
        assert!(found.iter().any(|name| name == storage), "expected core-svc -> {storage}, found {found:?}");
    }
}
