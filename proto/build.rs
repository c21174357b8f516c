//! Generates the platform.v1 code and a file descriptor set (for server reflection).
//!
//! protoc comes from `protoc-bin-vendored` so that no system protoc is needed; `$PROTOC` wins
//! when set, for platforms the vendored binaries do not cover.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "platform/v1/common.proto",
    "platform/v1/auth.proto",
    "platform/v1/user.proto",
    "platform/v1/project.proto",
    "platform/v1/member.proto",
    "platform/v1/config.proto",
    "platform/v1/setting.proto",
    "platform/v1/event.proto",
    "platform/v1/task.proto",
    "platform/v1/webhook.proto",
];

/// Messages that carry a password, a token or a secret. Their `Debug` is written by hand in
/// `src/redact.rs` and prints `[redacted]` for those fields, so a `{:?}` of a request cannot log
/// one.
const SECRET_BEARING: &[&str] = &[
    ".platform.v1.LoginRequest",
    ".platform.v1.TokenPair",
    ".platform.v1.RefreshTokenRequest",
    ".platform.v1.LogoutRequest",
    ".platform.v1.SignUpRequest",
    ".platform.v1.ChangePasswordRequest",
    ".platform.v1.CreateApiTokenResponse",
    ".platform.v1.CreateUserRequest",
    ".platform.v1.UpdateUserRequest",
    ".platform.v1.Webhook",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        // Edition 2024 marks set_var unsafe; the workspace forbids unsafe, so pass it on instead.
        return build(Some(protoc));
    }
    build(None)
}

fn build(protoc: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    if let Some(protoc) = protoc {
        config.protoc_executable(protoc);
    }
    config.skip_debug(SECRET_BEARING);
    tonic_prost_build::configure()
        .codec_path("crate::codec::PlatformCodec")
        .file_descriptor_set_path(out.join("platform_v1_descriptor.bin"))
        .compile_with_config(config, PROTOS, &["."])?;
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
