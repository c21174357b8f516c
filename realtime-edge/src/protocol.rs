//! The `GET /ws` wire protocol (`PROTOCOL.md`, docs/PRODUCT.md §9 "WebSocket"): parsing client
//! frames, writing server frames, error codes and close codes. Nothing here does IO.
//!
//! [`ErrorCode::from_core`] is the one mapping of a core-svc status to a WebSocket error code.

use std::fmt;

use edge_kit::CoreError;
use proto::json::from_struct as struct_to_json;
use serde_json::{Map, Value, json};
use tonic::Code;

/// Largest client text frame accepted (docs/PRODUCT.md §10); larger ones close the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Close codes the server sends (RFC 6455 §7.4.1 and the IANA registry).
pub mod close {
    /// The client asked to close, or the connection is done.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down; reconnect (to another instance) and resume with `after`.
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame that is not valid UTF-8 (RFC 6455 §7.4.1).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// No valid credentials (after an `unauthenticated` error frame).
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame over [`super::MAX_FRAME_BYTES`].
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The client fell too far behind (its outbound queue overflowed); resume with `after`.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// The `code` of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The caller lacks the role (`admin` for a non-admin).
    Forbidden,
    /// Not found, or not visible to the caller (a non-member's project).
    NotFound,
    /// The frame could not be understood, or breaks a limit of the connection.
    BadRequest,
    /// No credentials, or they are not (or no longer) valid.
    Unauthenticated,
    /// Too many frames per second.
    RateLimited,
    /// core-svc could not answer (down, restarting, or an internal error); try again.
    Unavailable,
    /// `after` is older than the retained log (the frame carries `oldest_seq`): the events in
    /// between are gone, so reload the state and subscribe again without `after`.
    OutOfRange,
}

impl ErrorCode {
    /// The one mapping of core-svc's status codes to WebSocket error codes.
    pub fn from_core(err: &CoreError) -> Self {
        Self::from_code(err.code)
    }

    /// See [`Self::from_core`].
    pub fn from_code(code: Code) -> Self {
        match code {
            Code::PermissionDenied => Self::Forbidden,
            Code::NotFound => Self::NotFound,
            Code::OutOfRange => Self::OutOfRange,
            Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists => Self::BadRequest,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::ResourceExhausted => Self::RateLimited,
            _ => Self::Unavailable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::OutOfRange => "out_of_range",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame from the client. Its `Debug` leaves the `auth` frame's token out.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientFrame {
    Auth { id: Option<String>, token: String },
    Subscribe { id: Option<String>, channel: String, after: Option<i64> },
    Unsubscribe { id: Option<String>, channel: String },
    Ping { id: Option<String> },
}

impl std::fmt::Debug for ClientFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auth { id, .. } => f.debug_struct("Auth").field("id", id).field("token", &"[redacted]").finish(),
            Self::Subscribe { id, channel, after } => {
                f.debug_struct("Subscribe").field("id", id).field("channel", channel).field("after", after).finish()
            }
            Self::Unsubscribe { id, channel } => {
                f.debug_struct("Unsubscribe").field("id", id).field("channel", channel).finish()
            }
            Self::Ping { id } => f.debug_struct("Ping").field("id", id).finish(),
        }
    }
}

/// A client frame that could not be understood: answered with a `bad_request` error frame that
/// echoes the frame's `id` when it had a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub id: Option<String>,
    pub message: String,
}

/// Longest `id` echoed back; a longer one is refused rather than copied into every answer.
const MAX_ID_LEN: usize = 128;
/// Longest channel name (`project:<uuid>` is 44 bytes).
const MAX_CHANNEL_LEN: usize = 256;

/// Parses a text frame.
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let bad = |id: Option<String>, message: String| FrameError { id, message };
    let value: Value =
        serde_json::from_str(text).map_err(|e| bad(None, format!("the frame is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(bad(None, "the frame must be a JSON object".into()));
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= MAX_ID_LEN => Some(s.clone()),
        Some(Value::String(_)) => return Err(bad(None, format!("id must be at most {MAX_ID_LEN} bytes"))),
        Some(_) => return Err(bad(None, "id must be a string".into())),
    };
    let string = |field: &str| -> Result<String, FrameError> {
        match obj.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(bad(id.clone(), format!("{field} must not be empty"))),
            None | Some(Value::Null) => Err(bad(id.clone(), format!("{field} is required"))),
            Some(_) => Err(bad(id.clone(), format!("{field} must be a string"))),
        }
    };
    let channel = || -> Result<String, FrameError> {
        let channel = string("channel")?;
        if channel.len() > MAX_CHANNEL_LEN {
            return Err(bad(id.clone(), format!("channel must be at most {MAX_CHANNEL_LEN} bytes")));
        }
        Ok(channel)
    };
    let kind = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        None | Some(Value::Null) => return Err(bad(id, "type is required".into())),
        Some(_) => return Err(bad(id, "type must be a string".into())),
    };
    match kind {
        "auth" => Ok(ClientFrame::Auth { token: string("token")?, id }),
        "subscribe" => {
            let after = match obj.get("after") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(n) if n >= 0 => Some(n),
                    _ => return Err(bad(id, "after must be a non-negative integer (a seq)".into())),
                },
                Some(_) => return Err(bad(id, "after must be a non-negative integer (a seq)".into())),
            };
            Ok(ClientFrame::Subscribe { channel: channel()?, id, after })
        }
        "unsubscribe" => Ok(ClientFrame::Unsubscribe { channel: channel()?, id }),
        "ping" => Ok(ClientFrame::Ping { id }),
        other => {
            let shown: String = other.chars().take(32).collect();
            Err(bad(id, format!("unknown frame type {shown:?}; expected auth, subscribe, unsubscribe or ping")))
        }
    }
}

fn with_id(mut frame: Map<String, Value>, id: Option<&str>) -> String {
    if let Some(id) = id {
        frame.insert("id".into(), Value::String(id.to_owned()));
    }
    Value::Object(frame).to_string()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `{"type":"authenticated","id":…,"user_id":…}`: the credentials were accepted.
pub fn authenticated(id: Option<&str>, user_id: &str) -> String {
    with_id(object(json!({"type": "authenticated", "user_id": user_id})), id)
}

/// `{"type":"subscribed","id":…,"channel":…,"seq":…}`: events after `seq` follow.
pub fn subscribed(id: Option<&str>, channel: &str, seq: i64) -> String {
    with_id(object(json!({"type": "subscribed", "channel": channel, "seq": seq})), id)
}

/// `{"type":"unsubscribed","id":…,"channel":…}`: nothing more comes from this channel.
pub fn unsubscribed(id: Option<&str>, channel: &str) -> String {
    with_id(object(json!({"type": "unsubscribed", "channel": channel})), id)
}

/// `{"type":"pong","id":…}`.
pub fn pong(id: Option<&str>) -> String {
    with_id(object(json!({"type": "pong"})), id)
}

/// `{"type":"error","id":…,"code":…,"message":…}`, with `channel` when the error ends (or
/// refuses) a subscription.
pub fn error(id: Option<&str>, code: ErrorCode, message: &str, channel: Option<&str>) -> String {
    error_with(id, code, message, channel, None)
}

/// An error frame that also carries `oldest_seq` (for `out_of_range`).
pub fn error_with(
    id: Option<&str>,
    code: ErrorCode,
    message: &str,
    channel: Option<&str>,
    oldest_seq: Option<i64>,
) -> String {
    let mut frame = object(json!({"type": "error", "code": code.as_str(), "message": message}));
    if let Some(channel) = channel {
        frame.insert("channel".into(), Value::String(channel.to_owned()));
    }
    if let Some(seq) = oldest_seq {
        frame.insert("oldest_seq".into(), Value::from(seq));
    }
    with_id(frame, id)
}

/// `{"type":"event","channel":…,"seq":…,"event":{…}}`, `event_json` being [`event_json`]'s
/// output (serialised once per event, however many clients get it).
pub fn event(channel: &str, seq: i64, event_json: &str) -> String {
    format!(r#"{{"type":"event","channel":{},"seq":{seq},"event":{event_json}}}"#, Value::String(channel.to_owned()))
}

/// The `event` object of an event frame: `id, type, actor_id, resource{type,id}, payload,
/// occurred_at, request_id, channels`.
pub fn event_json(e: &proto::v1::Event) -> String {
    let occurred_at = e.occur_time.as_ref().and_then(proto::time::rfc3339);
    json!({
        "id": e.id,
        "type": e.r#type,
        "actor_id": e.actor_id,
        "resource": e.resource.as_ref().map(|r| json!({"type": r.r#type, "id": r.id})),
        "payload": e.payload.as_ref().map_or(Value::Null, struct_to_json),
        "occurred_at": occurred_at,
        "request_id": e.request_id,
        "channels": e.channels,
    })
    .to_string()
}

/// A string literal of core's filter language (`"…"`, with `\` and `"` escaped).
pub use edge_kit::live::filter_literal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse() {
        assert_eq!(
            parse(r#"{"type":"subscribe","id":"1","channel":"system","after":12}"#),
            Ok(ClientFrame::Subscribe { id: Some("1".into()), channel: "system".into(), after: Some(12) })
        );
        assert_eq!(
            parse(r#"{"type":"unsubscribe","channel":"system"}"#),
            Ok(ClientFrame::Unsubscribe { id: None, channel: "system".into() })
        );
        assert_eq!(parse(r#"{"type":"ping","id":"3"}"#), Ok(ClientFrame::Ping { id: Some("3".into()) }));
        assert_eq!(parse(r#"{"type":"auth","token":"t"}"#), Ok(ClientFrame::Auth { id: None, token: "t".into() }));
    }

    #[test]
    fn bad_frames_say_why_and_echo_the_id() {
        for (text, needle) in [
            ("nope", "not valid JSON"),
            ("[1]", "JSON object"),
            (r#"{"id":"9"}"#, "type is required"),
            (r#"{"type":"dance","id":"9"}"#, "unknown frame type"),
            (r#"{"type":"subscribe","id":"9"}"#, "channel is required"),
            (r#"{"type":"subscribe","id":"9","channel":7}"#, "channel must be a string"),
            (r#"{"type":"subscribe","id":"9","channel":"system","after":-1}"#, "after must be"),
            (r#"{"type":"subscribe","id":"9","channel":"system","after":"1"}"#, "after must be"),
            (r#"{"type":"auth","id":"9"}"#, "token is required"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.message.contains(needle), "{text}: {err:?}");
            if text.contains(r#""id":"9""#) {
                assert_eq!(err.id.as_deref(), Some("9"), "{text}");
            }
        }
        assert!(parse(r#"{"type":"ping","id":5}"#).is_err());
    }

    #[test]
    fn server_frames() {
        let v: Value = serde_json::from_str(&subscribed(Some("1"), "system", 5)).unwrap();
        assert_eq!(v, json!({"type":"subscribed","id":"1","channel":"system","seq":5}));
        let v: Value = serde_json::from_str(&error(None, ErrorCode::NotFound, "gone", Some("c"))).unwrap();
        assert_eq!(v, json!({"type":"error","code":"not_found","message":"gone","channel":"c"}));
        let v: Value = serde_json::from_str(&event("a\"b", 7, r#"{"id":"x"}"#)).unwrap();
        assert_eq!(v, json!({"type":"event","channel":"a\"b","seq":7,"event":{"id":"x"}}));
        assert_eq!(filter_literal(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn status_codes_map_in_one_place() {
        assert_eq!(ErrorCode::from_code(Code::PermissionDenied).as_str(), "forbidden");
        assert_eq!(ErrorCode::from_code(Code::NotFound).as_str(), "not_found");
        assert_eq!(ErrorCode::from_code(Code::InvalidArgument).as_str(), "bad_request");
        assert_eq!(ErrorCode::from_code(Code::Unauthenticated).as_str(), "unauthenticated");
        assert_eq!(ErrorCode::from_code(Code::ResourceExhausted).as_str(), "rate_limited");
        for code in [Code::Unavailable, Code::Internal, Code::DeadlineExceeded, Code::Unknown] {
            assert_eq!(ErrorCode::from_code(code).as_str(), "unavailable");
        }
    }
}

/// Properties over generated frames: any text or JSON is a frame or a [`FrameError`], never a
/// panic; an error echoes the frame's `id` exactly when it is a string of at most
/// [`MAX_ID_LEN`] bytes; frames built from parts parse to exactly those parts.
#[cfg(test)]
mod proptests {
    use proptest::{collection::vec, prelude::*, sample::select, test_runner::Config};

    use super::*;

    /// Few cases (the whole set runs in seconds on 2 cores) and no `proptest-regressions/`
    /// files: a failure prints its minimal input, which becomes a unit test.
    fn config(cases: u32) -> Config {
        Config { cases, failure_persistence: None, ..Config::default() }
    }

    /// Any characters, control characters and NUL included.
    fn chars(len: std::ops::Range<usize>) -> impl Strategy<Value = String> + Clone {
        vec(any::<char>(), len).prop_map(String::from_iter)
    }

    /// `len` bytes: as many `c` as fit, then ASCII.
    fn sized(len: usize, c: char) -> String {
        let mut s = c.to_string().repeat(len / c.len_utf8());
        while s.len() < len {
            s.push('a');
        }
        s
    }

    /// Strings around a byte limit, in multi-byte characters too.
    fn around(limit: usize) -> impl Strategy<Value = String> + Clone {
        (limit - 2..limit + 3, any::<char>()).prop_map(|(len, c)| sized(len, c))
    }

    const FIELDS: &[&str] = &["type", "id", "channel", "after", "token"];
    const WORDS: &[&str] = &["auth", "subscribe", "unsubscribe", "ping", "pong", "system", "project:x", "", " ", "0"];

    fn key() -> impl Strategy<Value = String> + Clone {
        prop_oneof![3 => select(FIELDS).prop_map(str::to_owned), 1 => chars(0..8)]
    }

    /// Any JSON, with the protocol's words, integers around `after`'s range and strings around
    /// the `id` and `channel` limits.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-3..3i64).prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            select(WORDS).prop_map(Value::from),
            chars(0..24).prop_map(Value::String),
            around(MAX_ID_LEN).prop_map(Value::String),
            around(MAX_CHANNEL_LEN).prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..5).prop_map(Value::Array),
                vec((key(), inner), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// An object with each field of the protocol absent, null, of any type, or a string around
    /// its limit, and other members.
    fn frame_object() -> impl Strategy<Value = Value> {
        let member = |name: &'static str, typical: BoxedStrategy<Value>| {
            prop_oneof![2 => Just(None), 3 => typical.prop_map(Some), 1 => json().prop_map(Some)]
                .prop_map(move |v| v.map(|v| (name.to_string(), v)))
        };
        let text = |limit: usize| prop_oneof![chars(1..16), around(limit)].prop_map(Value::String).boxed();
        (
            member("type", select(WORDS).prop_map(Value::from).boxed()),
            member("id", text(MAX_ID_LEN)),
            member("channel", text(MAX_CHANNEL_LEN)),
            member("after", prop_oneof![any::<i64>(), 0..3i64].prop_map(Value::from).boxed()),
            member("token", chars(0..16).prop_map(Value::String).boxed()),
            vec((chars(0..8), json()), 0..3),
        )
            .prop_map(|(kind, id, channel, after, token, mut others)| {
                others.extend([kind, id, channel, after, token].into_iter().flatten());
                Value::Object(others.into_iter().collect())
            })
    }

    /// JSON punctuation, the protocol's names and words, and random characters, run together.
    fn json_soup() -> impl Strategy<Value = String> {
        const PUNCTUATION: &[&str] = &["{", "}", "[", "]", ":", ",", "\"", "\\", "null", "-1", "1e999"];
        let token = prop_oneof![
            select(PUNCTUATION).prop_map(str::to_owned),
            select(FIELDS).prop_map(|f| format!("\"{f}\"")),
            select(WORDS).prop_map(|w| format!("\"{w}\"")),
            chars(0..4),
        ];
        vec(token, 0..32).prop_map(|t| t.concat())
    }

    /// What every answer to `text` must satisfy, frame or error.
    fn check(text: &str) -> Result<(), TestCaseError> {
        let value: Option<Value> = serde_json::from_str(text).ok();
        let obj = value.as_ref().and_then(Value::as_object);
        // The id an answer carries: the frame's when it is a short string, else none.
        let id = match obj.and_then(|o| o.get("id")) {
            Some(Value::String(s)) if s.len() <= MAX_ID_LEN => Some(s.clone()),
            _ => None,
        };
        let field = |name: &str| obj.and_then(|o| o.get(name)).cloned().unwrap_or(Value::Null);
        match parse(text) {
            Ok(frame) => {
                let kind = field("type");
                match &frame {
                    ClientFrame::Auth { id: got, token } => {
                        prop_assert_eq!(kind, "auth");
                        prop_assert_eq!(got, &id);
                        prop_assert!(!token.is_empty() && field("token") == token.as_str());
                    }
                    ClientFrame::Subscribe { id: got, channel, after } => {
                        prop_assert_eq!(kind, "subscribe");
                        prop_assert_eq!(got, &id);
                        prop_assert!(!channel.is_empty() && channel.len() <= MAX_CHANNEL_LEN);
                        prop_assert!(field("channel") == channel.as_str());
                        prop_assert_eq!(after.map(Value::from).unwrap_or(Value::Null), field("after"));
                        prop_assert!(after.is_none_or(|a| a >= 0));
                    }
                    ClientFrame::Unsubscribe { id: got, channel } => {
                        prop_assert_eq!(kind, "unsubscribe");
                        prop_assert_eq!(got, &id);
                        prop_assert!(!channel.is_empty() && channel.len() <= MAX_CHANNEL_LEN);
                        prop_assert!(field("channel") == channel.as_str());
                    }
                    ClientFrame::Ping { id: got } => {
                        prop_assert_eq!(kind, "ping");
                        prop_assert_eq!(got, &id);
                    }
                }
            }
            Err(FrameError { id: got, message }) => {
                // An id that is not a short string (or null) is itself the error.
                let readable = matches!(field("id"), Value::Null) || id.is_some();
                prop_assert_eq!(got, if readable { id } else { None });
                // Client text is quoted sparingly: no answer grows with the frame.
                prop_assert!(!message.is_empty() && message.len() <= 512, "{}", message);
            }
        }
        Ok(())
    }

    /// A valid frame, as the fields it is written from and the frame it must parse to.
    fn valid_frame() -> impl Strategy<Value = (Vec<(String, Value)>, ClientFrame)> {
        let id = prop_oneof![
            Just(None),
            chars(0..32).prop_map(Some),
            (0..=MAX_ID_LEN, any::<char>()).prop_map(|(len, c)| Some(sized(len, c))),
        ];
        let channel = prop_oneof![
            chars(1..64),
            (1..=MAX_CHANNEL_LEN, any::<char>()).prop_map(|(len, c)| sized(len, c)),
            "(project|user):[0-9a-f-]{36}",
        ];
        let after = prop_oneof![Just(None), (0..=i64::MAX).prop_map(Some), (0..10i64).prop_map(Some)];
        let frame = prop_oneof![
            (id.clone(), chars(1..48)).prop_map(|(id, token)| ClientFrame::Auth { id, token }),
            (id.clone(), channel.clone(), after).prop_map(|(id, channel, after)| ClientFrame::Subscribe {
                id,
                channel,
                after
            }),
            (id.clone(), channel).prop_map(|(id, channel)| ClientFrame::Unsubscribe { id, channel }),
            id.prop_map(|id| ClientFrame::Ping { id }),
        ];
        // Other members are ignored; absent optional fields may be written as null.
        let extra =
            vec((chars(0..8).prop_filter("a field of the protocol", |k| !FIELDS.contains(&k.as_str())), json()), 0..3);
        (frame, extra, any::<bool>()).prop_map(|(frame, extra, nulls)| {
            let mut fields = extra;
            let id_of = |id: &Option<String>| id.clone().map(Value::String).or(nulls.then_some(Value::Null));
            let (kind, id, rest): (&str, Option<Value>, Vec<(&str, Value)>) = match &frame {
                ClientFrame::Auth { id: i, token } => ("auth", id_of(i), vec![("token", token.as_str().into())]),
                ClientFrame::Subscribe { id: i, channel, after } => {
                    let mut rest = vec![("channel", Value::from(channel.as_str()))];
                    if let Some(a) = after.map(Value::from).or(nulls.then_some(Value::Null)) {
                        rest.push(("after", a));
                    }
                    ("subscribe", id_of(i), rest)
                }
                ClientFrame::Unsubscribe { id: i, channel } => {
                    ("unsubscribe", id_of(i), vec![("channel", channel.as_str().into())])
                }
                ClientFrame::Ping { id: i } => ("ping", id_of(i), vec![]),
            };
            fields.push(("type".into(), kind.into()));
            fields.extend(id.map(|v| ("id".to_string(), v)));
            fields.extend(rest.into_iter().map(|(k, v)| (k.to_string(), v)));
            (fields, frame)
        })
    }

    proptest! {
        #![proptest_config(config(512))]

        /// Any text at all, and JSON-like token soup.
        #[test]
        fn arbitrary_text_is_a_frame_or_a_frame_error(text in prop_oneof![chars(0..256), json_soup()]) {
            check(&text)?;
        }

        /// Any JSON value, mostly objects with the protocol's fields absent, null, of any type
        /// or around their limits.
        #[test]
        fn arbitrary_json_is_a_frame_or_a_frame_error(
            value in prop_oneof![
                3 => frame_object(),
                1 => vec((key(), json()), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
                1 => json(),
            ]
        ) {
            check(&value.to_string())?;
        }

        /// Frames built from generated parts, members in any order with any spacing, parse to
        /// exactly those parts.
        #[test]
        fn valid_frames_parse_to_their_parts(
            (mut fields, frame) in valid_frame(),
            order in any::<prop::sample::Index>(),
            space in select(&["", " ", "\n\t "][..]),
        ) {
            let n = fields.len();
            fields.rotate_left(order.index(n));
            let members: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}{space}:{space}{v}", Value::from(k.as_str())))
                .collect();
            let text = format!("{space}{{{space}{}{space}}}{space}", members.join(&format!("{space},{space}")));
            prop_assert_eq!(parse(&text), Ok(frame));
        }
    }
}
