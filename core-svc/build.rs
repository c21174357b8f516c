//! `sqlx::migrate!` embeds `migrations/` at compile time; without this, cargo would not rebuild
//! core-svc when a migration is added or changed, and the binary would silently lack it.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
