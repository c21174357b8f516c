//! `Debug` for the messages that carry a password, a token or a secret (listed in `build.rs`,
//! which leaves them without the derived one): those fields print as `[redacted]` (or
//! `[empty]`), so that no `{:?}` of a request or response can put one in a log.

use std::fmt;

use crate::v1;

/// A secret field as `Debug` shows it: whether it is set, never what it is.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "[empty]" } else { "[redacted]" })
    }
}

/// `redacted_debug!(Message { plain fields } secret { secret fields })`.
macro_rules! redacted_debug {
    ($message:ident { $($plain:ident),* } secret { $($secret:ident),+ }) => {
        impl fmt::Debug for v1::$message {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($message))
                    $(.field(stringify!($plain), &self.$plain))*
                    $(.field(stringify!($secret), &Redacted(&self.$secret)))+
                    .finish()
            }
        }
    };
}

redacted_debug!(LoginRequest { email } secret { password });
redacted_debug!(TokenPair { access_token_expire_time, refresh_token_expire_time, token_type } secret { access_token, refresh_token });
redacted_debug!(RefreshTokenRequest {} secret { refresh_token });
redacted_debug!(LogoutRequest {} secret { refresh_token });
redacted_debug!(SignUpRequest { email, name } secret { password });
redacted_debug!(ChangePasswordRequest {} secret { current_password, new_password });
redacted_debug!(CreateApiTokenResponse { api_token } secret { token });
redacted_debug!(CreateUserRequest { email, name, role } secret { password });
redacted_debug!(UpdateUserRequest { user, update_mask, etag } secret { password });
redacted_debug!(Webhook {
    id, project_id, url, event_types, active, description, create_time, update_time, version, etag, created_by
} secret { secret });

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret-value-that-must-not-show";

    #[test]
    fn secrets_are_redacted_and_the_rest_shown() {
        let shown = [
            format!("{:?}", v1::LoginRequest { email: "a@b.test".into(), password: SECRET.into() }),
            format!(
                "{:?}",
                v1::LoginResponse {
                    tokens: Some(v1::TokenPair {
                        access_token: SECRET.into(),
                        refresh_token: SECRET.into(),
                        token_type: "Bearer".into(),
                        ..Default::default()
                    }),
                    user: None,
                }
            ),
            format!("{:?}", v1::RefreshTokenRequest { refresh_token: SECRET.into() }),
            format!("{:?}", v1::LogoutRequest { refresh_token: SECRET.into() }),
            format!("{:?}", v1::SignUpRequest { email: "a@b.test".into(), name: "n".into(), password: SECRET.into() }),
            format!("{:?}", v1::ChangePasswordRequest { current_password: SECRET.into(), new_password: SECRET.into() }),
            format!("{:?}", v1::CreateApiTokenResponse { api_token: None, token: SECRET.into() }),
            format!(
                "{:?}",
                v1::CreateUserRequest { email: "a@b.test".into(), name: "n".into(), password: SECRET.into(), role: 0 }
            ),
            format!("{:?}", v1::UpdateUserRequest { password: SECRET.into(), ..Default::default() }),
            format!(
                "{:?}",
                v1::CreateWebhookRequest {
                    project_id: "p".into(),
                    webhook: Some(v1::Webhook {
                        url: "https://x.test".into(),
                        secret: SECRET.into(),
                        ..Default::default()
                    })
                }
            ),
        ];
        for s in &shown {
            assert!(!s.contains(SECRET), "{s}");
            assert!(s.contains("[redacted]"), "{s}");
        }
        assert!(shown[0].contains("a@b.test"));
        assert!(shown[9].contains("https://x.test"));
        assert!(format!("{:?}", v1::LogoutRequest::default()).contains("[empty]"));
    }
}
