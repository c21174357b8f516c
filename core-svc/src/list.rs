//! AIP-style list requests: `filter`, `order_by`, `page_size`, `page_token`, `skip`.
//!
//! The filter language is a documented subset of AIP-160, enough for every client we have:
//!
//! ```text
//! filter := term (AND term)*
//! term   := restriction | '(' restriction (OR restriction)* ')' | text
//! restriction := field op value        op := = != < <= > >= :
//! value  := "quoted string" | bare_word
//! text   := a bare "quoted string" or word: free-text search over the resource's text fields
//! ```
//!
//! Each resource declares its fields ([`Field`]); anything else is INVALID_ARGUMENT naming
//! `filter` or `order_by`, never silently ignored. Values are always bound as parameters, and
//! column expressions come only from the static field tables, so no client text reaches SQL.
//!
//! Page tokens are opaque to clients; they hold the offset and a fingerprint of filter and
//! order, so a token reused with another filter is rejected rather than returning wrong pages.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder, postgres::PgRow};
use uuid::Uuid;

use crate::error::{Error, Result};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Far beyond any real page walk; stops pathological OFFSETs from scanning whole tables.
const MAX_OFFSET: i64 = 1_000_000;
const MAX_FILTER_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    /// One of a fixed set of lower-case words.
    Enum(&'static [&'static str]),
    Bool,
    Int,
    Time,
    /// A text column matched exactly, or by prefix with a trailing `*` (event types).
    Glob,
    /// `value = ANY(column)` on a text[] column (event channels).
    ArrayContains,
    /// `deleted = true|false` over a nullable timestamp column.
    IsSet,
}

/// One filterable and/or sortable field of a resource.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    /// SQL expression (a column of the list query).
    pub sql: &'static str,
    pub kind: Kind,
    pub filter: bool,
    pub sort: bool,
}

impl Field {
    pub const fn new(name: &'static str, sql: &'static str, kind: Kind) -> Self {
        Self { name, sql, kind, filter: true, sort: false }
    }
    pub const fn sortable(mut self) -> Self {
        self.sort = true;
        self
    }
    pub const fn sort_only(mut self) -> Self {
        self.sort = true;
        self.filter = false;
        self
    }
}

/// What a resource's list accepts.
pub struct Spec {
    pub fields: &'static [Field],
    /// SQL text expressions searched by free text (ILIKE).
    pub search: &'static [&'static str],
    /// ORDER BY used when `order_by` is empty.
    pub default_order: &'static str,
    /// Final tie-breaker so pages are stable.
    pub tiebreak: &'static str,
}

/// The list parameters as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListParams<'a> {
    pub page_size: i32,
    pub page_token: &'a str,
    pub filter: &'a str,
    pub order_by: &'a str,
    pub skip: i32,
}

/// A filter value, bound as a query parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Uuid(Uuid),
    Text(String),
    Bool(bool),
    Int(i64),
    Time(DateTime<Utc>),
}

/// One piece of a list query's WHERE clause: SQL text or a bound value ([`Plan::where_pieces`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Sql(&'static str),
    Bind(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Has,
}

#[derive(Debug, Clone)]
struct Restriction {
    field: Field,
    op: Op,
    value: Value,
}

#[derive(Debug, Clone)]
enum Term {
    AnyOf(Vec<Restriction>),
    Text(String),
}

/// A parsed, validated list request.
#[derive(Debug, Clone)]
pub struct Plan {
    terms: Vec<Term>,
    order: String,
    pub limit: i64,
    pub offset: i64,
    fingerprint: u64,
}

/// One page of results.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
    pub total_size: i32,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_page_token: self.next_page_token,
            total_size: self.total_size,
        }
    }
}

impl Spec {
    pub fn plan(&self, p: ListParams<'_>) -> Result<Plan> {
        if p.page_size < 0 {
            return Err(Error::invalid("page_size", "must not be negative"));
        }
        if p.skip < 0 {
            return Err(Error::invalid("skip", "must not be negative"));
        }
        let limit = match i64::from(p.page_size) {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let fingerprint = fingerprint(p.filter, p.order_by);
        let mut offset = i64::from(p.skip);
        if !p.page_token.is_empty() {
            // Saturating: a forged token may carry any offset (the format is not secret); the
            // bound below refuses it rather than the sum overflowing.
            offset = offset.saturating_add(decode_token(p.page_token, fingerprint)?);
        }
        if offset > MAX_OFFSET {
            return Err(Error::invalid(
                "skip",
                format!("offsets beyond {MAX_OFFSET} are not served; narrow the filter"),
            ));
        }
        let terms = self.parse_filter(p.filter)?;
        let order = self.parse_order(p.order_by)?;
        Ok(Plan { terms, order, limit, offset, fingerprint })
    }

    fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn parse_order(&self, order_by: &str) -> Result<String> {
        if order_by.trim().is_empty() {
            return Ok(format!("{}, {}", self.default_order, self.tiebreak));
        }
        let mut parts = Vec::new();
        for item in order_by.split(',') {
            let mut words = item.split_whitespace();
            let name = words.next().ok_or_else(|| Error::invalid("order_by", "has an empty item"))?;
            let dir = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => "ASC",
                Some("desc") => "DESC",
                Some(other) => {
                    return Err(Error::invalid("order_by", format!("unknown direction {other:?}; use asc or desc")));
                }
            };
            if words.next().is_some() {
                return Err(Error::invalid("order_by", format!("cannot parse {item:?}")));
            }
            let field = self.field(name).filter(|f| f.sort).ok_or_else(|| {
                let names: Vec<_> = self.fields.iter().filter(|f| f.sort).map(|f| f.name).collect();
                Error::invalid("order_by", format!("cannot sort by {name:?}; sortable fields: {}", names.join(", ")))
            })?;
            // NULLs sort as the smallest value in both directions, which is what people expect
            // of e.g. last_login_time.
            let nulls = if dir == "ASC" { "NULLS FIRST" } else { "NULLS LAST" };
            parts.push(format!("{} {dir} {nulls}", field.sql));
        }
        parts.push(self.tiebreak.to_string());
        Ok(parts.join(", "))
    }

    fn parse_filter(&self, filter: &str) -> Result<Vec<Term>> {
        if filter.len() > MAX_FILTER_LEN {
            return Err(Error::invalid("filter", format!("must be at most {MAX_FILTER_LEN} bytes")));
        }
        let tokens = tokenize(filter)?;
        let mut terms = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if !terms.is_empty() {
                // AIP-160 treats juxtaposition as AND too, so AND is optional.
                if tokens[i] == Tok::And {
                    i += 1;
                }
            }
            match tokens.get(i) {
                Some(Tok::Open) => {
                    i += 1;
                    let mut group = Vec::new();
                    loop {
                        let (r, next) = self.restriction(&tokens, i)?;
                        group.push(r);
                        i = next;
                        match tokens.get(i) {
                            Some(Tok::Or) => i += 1,
                            Some(Tok::Close) => {
                                i += 1;
                                break;
                            }
                            _ => return Err(Error::invalid("filter", "expected OR or ')' in a parenthesised group")),
                        }
                    }
                    terms.push(Term::AnyOf(group));
                }
                Some(Tok::Word(_) | Tok::Str(_)) if matches!(tokens.get(i + 1), Some(Tok::Op(_))) => {
                    let (r, next) = self.restriction(&tokens, i)?;
                    terms.push(Term::AnyOf(vec![r]));
                    i = next;
                }
                Some(Tok::Word(w) | Tok::Str(w)) => {
                    terms.push(Term::Text(w.clone()));
                    i += 1;
                }
                Some(other) => return Err(Error::invalid("filter", format!("unexpected {other}"))),
                None => return Err(Error::invalid("filter", "ends after AND")),
            }
        }
        Ok(terms)
    }

    fn restriction(&self, tokens: &[Tok], i: usize) -> Result<(Restriction, usize)> {
        let name = match tokens.get(i) {
            Some(Tok::Word(w)) => w,
            _ => return Err(Error::invalid("filter", "expected a field name")),
        };
        let field = *self.field(name).filter(|f| f.filter).ok_or_else(|| {
            let names: Vec<_> = self.fields.iter().filter(|f| f.filter).map(|f| f.name).collect();
            Error::invalid("filter", format!("unknown field {name:?}; filterable fields: {}", names.join(", ")))
        })?;
        let op = match tokens.get(i + 1) {
            Some(Tok::Op(op)) => *op,
            _ => return Err(Error::invalid("filter", format!("expected an operator after {name}"))),
        };
        let raw = match tokens.get(i + 2) {
            Some(Tok::Word(w) | Tok::Str(w)) => w,
            _ => return Err(Error::invalid("filter", format!("expected a value after {name}"))),
        };
        let bad = |what: &str| Error::invalid("filter", format!("{name}: {what}"));
        let allowed: &[Op] = match field.kind {
            Kind::Int | Kind::Time => &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge],
            Kind::Text => &[Op::Eq, Op::Ne, Op::Has],
            Kind::ArrayContains | Kind::Glob => &[Op::Eq],
            _ => &[Op::Eq, Op::Ne],
        };
        if !allowed.contains(&op) {
            return Err(bad("operator not supported for this field"));
        }
        let value = match field.kind {
            Kind::Uuid => Value::Uuid(Uuid::parse_str(raw).map_err(|_| bad("must be a UUID"))?),
            Kind::Text | Kind::Glob | Kind::ArrayContains => Value::Text(raw.clone()),
            Kind::Enum(words) => {
                let w = raw.to_ascii_lowercase();
                if !words.contains(&w.as_str()) {
                    return Err(bad(&format!("must be one of {}", words.join(", "))));
                }
                Value::Text(w)
            }
            Kind::Bool | Kind::IsSet => Value::Bool(match raw.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(bad("must be true or false")),
            }),
            Kind::Int => Value::Int(raw.parse().map_err(|_| bad("must be an integer"))?),
            Kind::Time => Value::Time(
                DateTime::parse_from_rfc3339(raw)
                    .map_err(|_| bad("must be an RFC 3339 timestamp"))?
                    .with_timezone(&Utc),
            ),
        };
        Ok((Restriction { field, op, value }, i + 3))
    }
}

impl Plan {
    /// Whether the filter has a restriction on the field `name` (not merely the word in free
    /// text or in a value).
    pub fn restricts(&self, name: &str) -> bool {
        self.terms.iter().any(|t| matches!(t, Term::AnyOf(group) if group.iter().any(|r| r.field.name == name)))
    }

    /// Appends ` AND <filter>` for every term: [`Self::where_pieces`], values bound.
    pub fn push_where(&self, qb: &mut QueryBuilder<Postgres>, spec: &Spec) {
        for piece in self.where_pieces(spec) {
            match piece {
                Piece::Sql(sql) => qb.push(sql),
                Piece::Bind(Value::Uuid(v)) => qb.push_bind(v),
                Piece::Bind(Value::Text(v)) => qb.push_bind(v),
                Piece::Bind(Value::Bool(v)) => qb.push_bind(v),
                Piece::Bind(Value::Int(v)) => qb.push_bind(v),
                Piece::Bind(Value::Time(v)) => qb.push_bind(v),
            };
        }
    }

    /// The filter as ` AND (…)` per term, in order: SQL text that comes only from the static
    /// field tables and keywords (hence `&'static str`), and the values to bind. Pure, so tests
    /// can check that no client text ever becomes SQL.
    pub fn where_pieces(&self, spec: &Spec) -> Vec<Piece> {
        let mut out = Vec::new();
        for term in &self.terms {
            out.push(Piece::Sql(" AND ("));
            match term {
                Term::AnyOf(group) => {
                    for (n, r) in group.iter().enumerate() {
                        if n > 0 {
                            out.push(Piece::Sql(" OR "));
                        }
                        restriction_pieces(&mut out, r);
                    }
                }
                Term::Text(text) => {
                    let pattern = format!("%{}%", escape_like(text));
                    for (n, expr) in spec.search.iter().enumerate() {
                        if n > 0 {
                            out.push(Piece::Sql(" OR "));
                        }
                        out.extend([
                            Piece::Sql(expr),
                            Piece::Sql(" ILIKE "),
                            Piece::Bind(Value::Text(pattern.clone())),
                        ]);
                    }
                    if spec.search.is_empty() {
                        out.push(Piece::Sql("false"));
                    }
                }
            }
            out.push(Piece::Sql(")"));
        }
        out
    }

    pub fn push_order_limit(&self, qb: &mut QueryBuilder<Postgres>) {
        qb.push(" ORDER BY ").push(self.order.clone());
        qb.push(" LIMIT ").push_bind(self.limit).push(" OFFSET ").push_bind(self.offset);
    }

    /// Builds the page from the rows of this plan and the total.
    pub fn page<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        let end = self.offset + items.len() as i64;
        let next_page_token =
            if !items.is_empty() && end < total { encode_token(end, self.fingerprint) } else { String::new() };
        Page { items, next_page_token, total_size: i32::try_from(total).unwrap_or(i32::MAX) }
    }

    /// Runs `SELECT <select> FROM <from> WHERE true <scope> <filter>` (rows + count).
    ///
    /// `scope` appends the caller's visibility predicate (starting with ` AND `); it runs twice,
    /// once for the count and once for the rows.
    pub async fn fetch<T>(
        &self,
        conn: &mut PgConnection,
        spec: &Spec,
        select: &str,
        from: &str,
        scope: impl Fn(&mut QueryBuilder<Postgres>),
    ) -> Result<Page<T>>
    where
        T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let mut count = QueryBuilder::new(format!("SELECT count(*) FROM {from} WHERE true"));
        scope(&mut count);
        self.push_where(&mut count, spec);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;

        if total <= self.offset {
            return Ok(self.page(Vec::new(), total));
        }
        let mut rows = QueryBuilder::new(format!("SELECT {select} FROM {from} WHERE true"));
        scope(&mut rows);
        self.push_where(&mut rows, spec);
        self.push_order_limit(&mut rows);
        let items = rows.build_query_as::<T>().fetch_all(&mut *conn).await?;
        Ok(self.page(items, total))
    }
}

fn restriction_pieces(out: &mut Vec<Piece>, r: &Restriction) {
    let op = match r.op {
        Op::Eq => " = ",
        Op::Ne => " <> ",
        Op::Lt => " < ",
        Op::Le => " <= ",
        Op::Gt => " > ",
        Op::Ge => " >= ",
        Op::Has => " ILIKE ",
    };
    let (sql, bind) = (Piece::Sql, Piece::Bind);
    match (&r.field.kind, &r.value) {
        (Kind::ArrayContains, Value::Text(t)) => {
            out.extend([bind(Value::Text(t.clone())), sql(" = ANY("), sql(r.field.sql), sql(")")]);
        }
        (Kind::IsSet, Value::Bool(b)) => {
            let is_set = *b == (r.op == Op::Eq);
            out.extend([sql(r.field.sql), sql(if is_set { " IS NOT NULL" } else { " IS NULL" })]);
        }
        (Kind::Glob, Value::Text(t)) if t.ends_with('*') => {
            let prefix = format!("{}%", escape_like(&t[..t.len() - 1]));
            out.extend([sql(r.field.sql), sql(" LIKE "), bind(Value::Text(prefix))]);
        }
        (_, Value::Text(t)) if r.op == Op::Has => {
            out.extend([sql(r.field.sql), sql(op), bind(Value::Text(format!("%{}%", escape_like(t))))]);
        }
        (_, value) => out.extend([sql(r.field.sql), sql(op), bind(value.clone())]),
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(Op),
    And,
    Or,
    Open,
    Close,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "{w:?}"),
            Tok::Str(s) => write!(f, "{s:?}"),
            Tok::Op(op) => write!(f, "operator {op:?}"),
            Tok::And => f.write_str("AND"),
            Tok::Or => f.write_str("OR"),
            Tok::Open => f.write_str("'('"),
            Tok::Close => f.write_str("')'"),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, e)) => v.push(e),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err(Error::invalid("filter", format!("unterminated string starting at byte {i}")));
                }
                out.push(Tok::Str(v));
            }
            '=' | '!' | '<' | '>' | ':' => {
                chars.next();
                let eq_next = matches!(chars.peek(), Some((_, '=')));
                let op = match (c, eq_next) {
                    ('=', _) => Op::Eq,
                    ('!', true) => Op::Ne,
                    ('<', true) => Op::Le,
                    ('>', true) => Op::Ge,
                    ('<', false) => Op::Lt,
                    ('>', false) => Op::Gt,
                    (':', _) => Op::Has,
                    _ => return Err(Error::invalid("filter", format!("unexpected '!' at byte {i}"))),
                };
                if eq_next && c != '=' && c != ':' {
                    chars.next();
                }
                out.push(Tok::Op(op));
            }
            _ => {
                let mut w = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || "()=!<>:\"".contains(c) {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(match w.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    _ => Tok::Word(w),
                });
            }
        }
    }
    Ok(out)
}

fn fingerprint(filter: &str, order_by: &str) -> u64 {
    // FNV-1a: stable across processes and versions, unlike std's randomised hasher, so a token
    // from one replica works on another.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in filter.bytes().chain([0u8]).chain(order_by.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn encode_token(offset: i64, fingerprint: u64) -> String {
    hex::encode(format!("v1:{offset}:{fingerprint:x}"))
}

fn decode_token(token: &str, fingerprint: u64) -> Result<i64> {
    let bad = || Error::invalid("page_token", "is not a token returned by this list");
    let raw = hex::decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.split(':');
    let (Some("v1"), Some(offset), Some(fp), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if u64::from_str_radix(fp, 16).map_err(|_| bad())? != fingerprint {
        return Err(Error::invalid("page_token", "was issued for a different filter or order_by"));
    }
    offset.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPEC: Spec = Spec {
        fields: &[
            Field::new("id", "p.id", Kind::Uuid),
            Field::new("name", "p.name", Kind::Text).sortable(),
            Field::new("status", "p.status", Kind::Enum(&["active", "archived"])).sortable(),
            Field::new("seq", "e.seq", Kind::Int).sortable(),
            Field::new("create_time", "p.created_at", Kind::Time).sortable(),
        ],
        search: &["p.name", "p.slug"],
        default_order: "p.created_at DESC",
        tiebreak: "p.id",
    };

    fn sql(filter: &str) -> Result<String> {
        let plan = SPEC.plan(ListParams { filter, ..Default::default() })?;
        let mut qb = QueryBuilder::new("SELECT 1 WHERE true");
        plan.push_where(&mut qb, &SPEC);
        Ok(qb.sql().as_str().to_string())
    }

    #[test]
    fn parses_restrictions_groups_and_text() {
        let s = sql(r#"status = active AND (id = "0190b5a4-0000-7000-8000-000000000001" OR id = "0190b5a4-0000-7000-8000-000000000002") "my proj""#).unwrap();
        assert_eq!(
            s,
            "SELECT 1 WHERE true AND (p.status = $1) AND (p.id = $2 OR p.id = $3) AND (p.name ILIKE $4 OR p.slug ILIKE $5)"
        );
        assert!(sql("seq >= 10 seq < 20").is_ok());
        assert!(sql("name:foo").is_ok());
    }

    #[test]
    fn rejects_unknown_fields_bad_values_and_syntax() {
        for bad in [
            "nope = 1",
            "status = deleted",
            "id = 12",
            "seq > x",
            "status < active",
            "(status = active",
            "name = \"unterminated",
            "status =",
            "create_time > yesterday",
            "AND",
        ] {
            let err = sql(bad).expect_err(bad);
            assert!(matches!(err, Error::InvalidArgument { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn restricts_means_a_restriction_not_a_mention() {
        let plan = |filter| SPEC.plan(ListParams { filter, ..Default::default() }).unwrap();
        assert!(plan("(name = x OR status = active)").restricts("status"));
        assert!(!plan("name = \"status\" status").restricts("status"));
    }

    #[test]
    fn order_by_is_whitelisted() {
        let plan = SPEC.plan(ListParams { order_by: "name desc, status", ..Default::default() }).unwrap();
        assert_eq!(plan.order, "p.name DESC NULLS LAST, p.status ASC NULLS FIRST, p.id");
        assert!(SPEC.plan(ListParams { order_by: "id", ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { order_by: "name sideways", ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { order_by: "name; drop table x", ..Default::default() }).is_err());
    }

    #[test]
    fn page_tokens_round_trip_and_are_bound_to_the_query() {
        let plan = SPEC.plan(ListParams { page_size: 10, filter: "status = active", ..Default::default() }).unwrap();
        let page = plan.page(vec![0; 10], 25);
        let next = SPEC
            .plan(ListParams {
                page_size: 10,
                filter: "status = active",
                page_token: &page.next_page_token,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(next.offset, 10);
        assert!(SPEC.plan(ListParams { page_token: &page.next_page_token, ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { page_token: "zz", ..Default::default() }).is_err());
        assert_eq!(plan.page(vec![0; 5], 5).next_page_token, "");
    }

    #[test]
    fn forged_tokens_with_huge_offsets_are_refused() {
        // Found by `arbitrary_paging_plans_or_is_invalid_argument`: skip + the token's offset
        // overflowed (a panic in debug builds, a negative OFFSET and INTERNAL in release).
        let token = hex::encode(format!("v1:{}:{:x}", i64::MAX, fingerprint("", "")));
        let err = SPEC.plan(ListParams { page_token: &token, skip: 1, ..Default::default() }).unwrap_err();
        assert!(matches!(&err, Error::InvalidArgument { violations, .. } if violations[0].field == "skip"), "{err:?}");
    }

    #[test]
    fn page_size_and_skip_bounds() {
        assert_eq!(SPEC.plan(ListParams { page_size: 100_000, ..Default::default() }).unwrap().limit, MAX_PAGE_SIZE);
        assert!(SPEC.plan(ListParams { page_size: -1, ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { skip: -1, ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { skip: i32::MAX, ..Default::default() }).is_err());
    }
}

/// Properties over generated input: arbitrary `filter`, `order_by` and page tokens never panic
/// the planner and never become SQL text; well-formed filters parse to exactly what was written.
#[cfg(test)]
mod proptests {
    use std::sync::LazyLock;

    use chrono::{FixedOffset, SecondsFormat, TimeZone};
    use proptest::{collection::vec, prelude::*, sample::select, test_runner::Config};
    use regex::Regex;

    use super::*;
    use crate::store;

    /// Few cases (the whole set runs in seconds on 2 cores) and no `proptest-regressions/`
    /// files: a failure prints its minimal input, which becomes a unit test.
    fn config(cases: u32) -> Config {
        Config { cases, failure_persistence: None, ..Config::default() }
    }

    /// A field of every kind, and a sort-only one.
    static EVERY_KIND: Spec = Spec {
        fields: &[
            Field::new("id", "t.id", Kind::Uuid),
            Field::new("name", "t.name", Kind::Text).sortable(),
            Field::new("status", "t.status", Kind::Enum(&["active", "archived"])).sortable(),
            Field::new("active", "t.active", Kind::Bool),
            Field::new("seq", "t.seq", Kind::Int).sortable(),
            Field::new("create_time", "t.created_at", Kind::Time).sortable(),
            Field::new("type", "t.type", Kind::Glob),
            Field::new("channel", "t.channels", Kind::ArrayContains),
            Field::new("deleted", "t.deleted_at", Kind::IsSet),
            Field::new("rank", "t.rank", Kind::Int).sort_only(),
        ],
        search: &["t.name", "t.slug"],
        default_order: "t.created_at DESC",
        tiebreak: "t.id",
    };

    /// Every Spec a List RPC plans with, and the one above.
    static SPECS: [&Spec; 12] = [
        &EVERY_KIND,
        &store::users::LIST,
        &store::projects::LIST,
        &store::members::LIST,
        &store::configs::LIST,
        &store::configs::SETTINGS_LIST,
        &store::configs::REVISION_LIST,
        &store::events::LIST,
        &store::tasks::LIST,
        &store::webhooks::LIST,
        &store::webhooks::DELIVERIES,
        &store::tokens::API_LIST,
    ];

    /// The only SQL a plan of `spec` may produce after `SELECT 1 WHERE true`: the spec's own
    /// column expressions, the operators and keywords of the planner, and `$n` placeholders.
    fn grammar(spec: &Spec) -> Regex {
        let alt = |exprs: Vec<&str>| exprs.into_iter().map(regex::escape).collect::<Vec<_>>().join("|");
        let col = alt(spec.fields.iter().filter(|f| f.filter).map(|f| f.sql).collect());
        let sort = alt(spec.fields.iter().filter(|f| f.sort).map(|f| f.sql).collect());
        let p = r"\$[1-9][0-9]*";
        let mut atoms = vec![
            format!("(?:{col}) (?:=|<>|<|<=|>|>=|ILIKE|LIKE) {p}"),
            format!(r"{p} = ANY\((?:{col})\)"),
            format!("(?:{col}) IS (?:NOT )?NULL"),
            "false".to_string(),
        ];
        if !spec.search.is_empty() {
            atoms.push(format!("(?:{}) ILIKE {p}", alt(spec.search.to_vec())));
        }
        let atom = format!("(?:{})", atoms.join("|"));
        let order = format!(
            "(?:{}, |(?:(?:{sort}) (?:ASC NULLS FIRST|DESC NULLS LAST), )+){}",
            regex::escape(spec.default_order),
            regex::escape(spec.tiebreak)
        );
        Regex::new(&format!(
            r"^SELECT 1 WHERE true(?: AND \({atom}(?: OR {atom})*\))* ORDER BY {order} LIMIT {p} OFFSET {p}$"
        ))
        .unwrap()
    }

    static GRAMMARS: LazyLock<Vec<Regex>> = LazyLock::new(|| SPECS.iter().map(|s| grammar(s)).collect());
    static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\$([0-9]+)").unwrap());

    /// Builds the query of `plan` (without running it) and checks that its text is whitelisted
    /// SQL only, that its placeholders are `$1..$n` with one value for each, and that it is
    /// exactly [`Plan::where_pieces`].
    fn check_sql(spec: usize, plan: &Plan) -> Result<(), TestCaseError> {
        let pieces = plan.where_pieces(SPECS[spec]);
        let mut qb = QueryBuilder::new("SELECT 1 WHERE true");
        plan.push_where(&mut qb, SPECS[spec]);
        plan.push_order_limit(&mut qb);
        let sql = qb.sql().as_str().to_owned();
        prop_assert!(GRAMMARS[spec].is_match(&sql), "not whitelisted SQL: {sql}");
        // Implied by the grammar, spelled out: no quote, semicolon, comment, backslash or NUL.
        prop_assert!(sql.chars().all(|c| c.is_ascii_alphanumeric() || " _.,()$=<>".contains(c)), "{sql}");
        let numbers: Vec<usize> = PLACEHOLDER.captures_iter(&sql).map(|c| c[1].parse().unwrap()).collect();
        let binds = pieces.iter().filter(|p| matches!(p, Piece::Bind(_))).count();
        prop_assert_eq!(numbers, (1..=binds + 2).collect::<Vec<_>>(), "{}", sql);
        let mut n = 0;
        let text: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Sql(s) => (*s).to_string(),
                Piece::Bind(_) => {
                    n += 1;
                    format!("${n}")
                }
            })
            .collect();
        prop_assert!(sql.starts_with(&format!("SELECT 1 WHERE true{text} ORDER BY ")), "{sql}");
        Ok(())
    }

    /// Any characters, control characters and NUL included.
    fn chars(max: usize) -> impl Strategy<Value = String> + Clone {
        vec(any::<char>(), 0..max).prop_map(String::from_iter)
    }

    /// Words of the filter language and of SQL, and text that breaks naive quoting.
    #[rustfmt::skip]
    const VOCAB: &[&str] = &[
        "id", "name", "slug", "status", "seq", "create_time", "type", "channel", "deleted", "active", "rank",
        "email", "key", "version", "project_id", "kind", "role", "AND", "OR", "and", "NOT", "(", ")", "((", "))",
        "=", "!=", "!", "<", "<=", ">", ">=", ":", "\"", "\\", "\\\"", "*", "%", "_", "'", ";", "--", "/*", "*/",
        "$1", "?", "\0", "\n", "true", "false", "TRUE", "archived", "0190b5a4-0000-7000-8000-000000000001",
        "2024-02-29T12:00:00Z", "2024-02-29T12:00:00.123+05:30", "-1", "0", "9223372036854775807",
        "9223372036854775808", "é", "😀", "\u{202e}", "DROP TABLE x", "p.id", "t.id",
    ];

    /// Filter-like text: vocabulary, random characters and quoted strings, loosely spaced.
    fn soup() -> impl Strategy<Value = String> + Clone {
        let token = prop_oneof![
            4 => select(VOCAB).prop_map(str::to_owned),
            1 => chars(4),
            1 => chars(12).prop_map(|s| format!("{s:?}")),
        ];
        vec((token, select(&["", " ", "  ", "\t"][..])), 0..24)
            .prop_map(|v| v.into_iter().map(|(t, s)| t + s).collect())
    }

    /// Restrictions on the fields of `spec` with client text in every value: well-formed terms
    /// (which plan), or any operator and any value, quoted or bare (which mostly do not).
    fn near_valid(spec: usize) -> impl Strategy<Value = String> {
        let names: Vec<&'static str> = SPECS[spec].fields.iter().map(|f| f.name).collect();
        let value = prop_oneof![select(VOCAB).prop_map(str::to_owned), chars(12).prop_map(|s| quote(&s)), chars(6)];
        let noisy = (select(names), select(&["=", "!=", "<", "<=", ">", ">=", ":", " = ", "=="][..]), value)
            .prop_map(|(name, op, value)| format!("{name}{op}{value}"));
        let well_formed = (vec(term(SPECS[spec]), 1..5), vec(select(&[" AND ", " "][..]), 1..3))
            .prop_map(|(terms, joins)| render(&terms, &joins));
        let joined = vec((noisy, select(&[" AND ", " ", " OR ", ""][..])), 1..4)
            .prop_map(|v| v.into_iter().map(|(t, s)| t + s).collect::<String>());
        prop_oneof![
            3 => well_formed.clone(),
            1 => joined.clone(),
            1 => (well_formed, joined).prop_map(|(a, b)| format!("{a} {b}")),
        ]
    }

    fn filter_text(spec: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            4 => near_valid(spec),
            1 => chars(64),
            1 => soup(),
            // Deep parentheses.
            1 => (0..3000usize, soup(), 0..3000usize)
                .prop_map(|(open, s, close)| format!("{}{s}{}", "(".repeat(open), ")".repeat(close))),
            // Around the length limit, with terms that plan.
            1 => (
                select(&["seq = 1 ", "name = \"x\\\"\" ", "(seq > 1 OR id = x) ", "\"t\" ", "é "][..]),
                4080..4110usize,
            )
                .prop_map(|(unit, len)| {
                    let mut s = unit.repeat(len / unit.len() + 1);
                    while s.len() > len {
                        s.pop();
                    }
                    s
                }),
        ]
    }

    /// Sort orders over the sortable fields of `spec` (which plan), or over any name, with any
    /// direction and separator.
    fn order_text(spec: usize) -> impl Strategy<Value = String> {
        let sortable: Vec<&'static str> = SPECS[spec].fields.iter().filter(|f| f.sort).map(|f| f.name).collect();
        let valid = vec((select(sortable), select(&["", " asc", " DESC", "  Desc "][..])), 1..4)
            .prop_map(|v| v.into_iter().map(|(f, d)| format!("{f}{d}")).collect::<Vec<_>>().join(", "));
        let names: Vec<&'static str> =
            SPECS.iter().flat_map(|s| s.fields.iter().map(|f| f.name)).chain(["", "x", "t.id"]).collect();
        let item = (
            prop_oneof![3 => select(names).prop_map(str::to_owned), 1 => chars(6)],
            select(&["", " asc", " desc", " DESC", " Asc", " sideways", " asc asc", ";", " --"][..]),
        );
        prop_oneof![
            3 => Just(String::new()),
            3 => valid,
            1 => chars(32),
            1 => soup(),
            2 => vec((item, select(&[",", ", ", " ,", ",,"][..])), 0..6)
                .prop_map(|v| v.into_iter().map(|((name, dir), sep)| format!("{name}{dir}{sep}")).collect()),
        ]
    }

    /// How a test page token is made: any text, hex of any text, or a forged `v1` token (the
    /// format is not secret) with any offset, signed for this filter and order or not.
    #[derive(Debug, Clone)]
    enum Token {
        Text(String),
        Hex(String),
        Forged { offset: String, matching: bool, fingerprint: u64 },
    }

    impl Token {
        fn make(&self, filter: &str, order_by: &str) -> String {
            match self {
                Token::Text(s) => s.clone(),
                Token::Hex(s) => hex::encode(s),
                Token::Forged { offset, matching, fingerprint: fp } => {
                    let fp = if *matching { fingerprint(filter, order_by) } else { *fp };
                    hex::encode(format!("v1:{offset}:{fp:x}"))
                }
            }
        }

        /// The offset a non-empty token must add, or None when it must be refused.
        fn offset(&self) -> Option<i64> {
            match self {
                Token::Forged { offset, matching: true, .. } => offset.parse().ok().filter(|o: &i64| *o >= 0),
                _ => None,
            }
        }
    }

    fn token() -> impl Strategy<Value = Token> {
        let offset = prop_oneof![
            1 => any::<i64>().prop_map(|o| o.to_string()),
            1 => (0..=i64::from(i32::MAX)).prop_map(|d| (i64::MAX - d).to_string()),
            1 => (0..2000i64).prop_map(|d| (i64::MAX - d).to_string()),
            1 => (MAX_OFFSET - 3..MAX_OFFSET + 3).prop_map(|o| o.to_string()),
            3 => (0..2000i64).prop_map(|o| o.to_string()),
            1 => "[-+0-9a-f:]{0,24}",
        ];
        prop_oneof![
            3 => Just(Token::Text(String::new())),
            1 => chars(40).prop_map(Token::Text),
            1 => chars(40).prop_map(Token::Hex),
            4 => (offset, prop::bool::weighted(0.8), any::<u64>())
                .prop_map(|(offset, matching, fingerprint)| Token::Forged { offset, matching, fingerprint }),
        ]
    }

    fn small_or_any() -> impl Strategy<Value = i32> {
        prop_oneof![
            3 => Just(0),
            3 => 0..2000i32,
            1 => any::<i32>(),
            1 => (i32::MAX - 10)..=i32::MAX,
            1 => 999_990..1_000_010i32,
        ]
    }

    /// Lets `plan` run on one of [`SPECS`] and checks its answer: a plan whose SQL is
    /// whitelisted text only, or INVALID_ARGUMENT naming one of the list parameters.
    fn plan_or_invalid(spec: usize, params: ListParams<'_>) -> Result<Option<Plan>, TestCaseError> {
        match SPECS[spec].plan(params) {
            Ok(plan) => {
                check_sql(spec, &plan)?;
                Ok(Some(plan))
            }
            Err(Error::InvalidArgument { violations, .. }) => {
                prop_assert_eq!(violations.len(), 1);
                let field = violations[0].field.as_str();
                prop_assert!(["filter", "order_by", "page_token", "page_size", "skip"].contains(&field), "{}", field);
                Ok(None)
            }
            Err(other) => Err(TestCaseError::fail(format!("not INVALID_ARGUMENT: {other:?}"))),
        }
    }

    proptest! {
        #![proptest_config(config(512))]

        /// Any `filter` and `order_by` (unicode, quotes, backslashes, NUL, deep parentheses,
        /// around the length limit) plan, or are INVALID_ARGUMENT naming `filter` or
        /// `order_by`; a plan's SQL is the spec's whitelisted text with every value bound.
        #[test]
        fn arbitrary_filters_and_orders_plan_or_are_invalid_argument(
            (spec, filter, order_by) in
                (0..SPECS.len()).prop_flat_map(|s| (Just(s), filter_text(s), order_text(s))),
        ) {
            plan_or_invalid(spec, ListParams { filter: &filter, order_by: &order_by, ..Default::default() })?;
        }

        /// Any `page_token`, `page_size` and `skip` (tokens forged with any offset included)
        /// plan or are INVALID_ARGUMENT; a plan's offset is `skip` plus the token's, at most
        /// the cap, and its limit the page size capped.
        #[test]
        fn arbitrary_paging_plans_or_is_invalid_argument(
            spec in 0..SPECS.len(),
            filter in prop_oneof![2 => Just(String::new()), 1 => soup()],
            order_by in prop_oneof![2 => Just(String::new()), 1 => soup()],
            token in token(),
            page_size in small_or_any(),
            skip in small_or_any(),
        ) {
            let page_token = token.make(&filter, &order_by);
            let params = ListParams { page_size, page_token: &page_token, filter: &filter, order_by: &order_by, skip };
            if let Some(plan) = plan_or_invalid(spec, params)? {
                let token_offset = if page_token.is_empty() { Some(0) } else { token.offset() };
                let offset = token_offset.map(|o| i128::from(o) + i128::from(skip));
                prop_assert_eq!(Some(i128::from(plan.offset)), offset);
                prop_assert!(plan.offset <= MAX_OFFSET);
                let limit = if page_size == 0 { DEFAULT_PAGE_SIZE } else { i64::from(page_size).min(MAX_PAGE_SIZE) };
                prop_assert!(page_size >= 0 && plan.limit == limit);
            }
        }
    }

    /// A restriction as generated: the field, the operator as written, the value as written and
    /// whether it is quoted, and what the parser must make of it.
    #[derive(Debug, Clone)]
    struct GenRestriction {
        field: &'static Field,
        op: Op,
        op_text: &'static str,
        written: String,
        quoted: bool,
        value: Value,
        spaces: (&'static str, &'static str),
    }

    #[derive(Debug, Clone)]
    enum GenTerm {
        AnyOf { group: Vec<GenRestriction>, parens: bool },
        Text { text: String, quoted: bool },
    }

    /// A term as parsed (`Term` without the static field data).
    #[derive(Debug, Clone, PartialEq)]
    enum Parsed {
        AnyOf(Vec<(&'static str, Op, Value)>),
        Text(String),
    }

    fn parsed(plan: &Plan) -> Vec<Parsed> {
        plan.terms
            .iter()
            .map(|t| match t {
                Term::AnyOf(group) => {
                    Parsed::AnyOf(group.iter().map(|r| (r.field.name, r.op, r.value.clone())).collect())
                }
                Term::Text(text) => Parsed::Text(text.clone()),
            })
            .collect()
    }

    /// A string literal of the language: `"`, with `"` and `\` escaped.
    fn quote(s: &str) -> String {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }

    /// Text the tokenizer reads as one bare word.
    fn bare_word(s: &str) -> bool {
        !s.is_empty() && s != "AND" && s != "OR" && !s.chars().any(|c| c.is_whitespace() || "()=!<>:\"".contains(c))
    }

    fn text_value() -> impl Strategy<Value = String> + Clone {
        prop_oneof![
            3 => chars(16),
            2 => vec(select(VOCAB), 0..4).prop_map(|w| w.concat()),
            1 => "[a-z_.*]{1,12}",
        ]
    }

    const OPS: &[(Op, &str)] =
        &[(Op::Eq, "="), (Op::Ne, "!="), (Op::Lt, "<"), (Op::Le, "<="), (Op::Gt, ">"), (Op::Ge, ">="), (Op::Has, ":")];

    fn ops(kind: Kind) -> Vec<(Op, &'static str)> {
        let allowed: &[Op] = match kind {
            Kind::Int | Kind::Time => &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge],
            Kind::Text => &[Op::Eq, Op::Ne, Op::Has],
            Kind::ArrayContains | Kind::Glob => &[Op::Eq],
            _ => &[Op::Eq, Op::Ne],
        };
        OPS.iter().filter(|(op, _)| allowed.contains(op)).copied().collect()
    }

    /// A value of `kind`, as written and as parsed.
    fn value(kind: Kind) -> BoxedStrategy<(String, Value)> {
        match kind {
            Kind::Uuid => (any::<u128>(), any::<bool>())
                .prop_map(|(n, simple)| {
                    let u = Uuid::from_u128(n);
                    let written = if simple { u.simple().to_string().to_uppercase() } else { u.to_string() };
                    (written, Value::Uuid(u))
                })
                .boxed(),
            Kind::Text | Kind::Glob | Kind::ArrayContains => {
                text_value().prop_map(|s| (s.clone(), Value::Text(s))).boxed()
            }
            Kind::Enum(words) => (select(words), vec(any::<bool>(), 16))
                .prop_map(|(w, upper)| {
                    let written: String =
                        w.chars().zip(upper).map(|(c, up)| if up { c.to_ascii_uppercase() } else { c }).collect();
                    (written, Value::Text(w.to_string()))
                })
                .boxed(),
            Kind::Bool | Kind::IsSet => any::<bool>().prop_map(|b| (b.to_string(), Value::Bool(b))).boxed(),
            Kind::Int => any::<i64>().prop_map(|n| (n.to_string(), Value::Int(n))).boxed(),
            // Years 2..9998 in any offset (RFC 3339 has four-digit years), nanoseconds exact.
            Kind::Time => (-61_000_000_000i64..253_000_000_000, 0..1_000_000_000u32, -1439..1440i32, any::<bool>())
                .prop_map(|(secs, nanos, minutes, z)| {
                    let t = Utc.timestamp_opt(secs, nanos).unwrap();
                    let local = t.with_timezone(&FixedOffset::east_opt(minutes * 60).unwrap());
                    (local.to_rfc3339_opts(SecondsFormat::AutoSi, z && minutes == 0), Value::Time(t))
                })
                .boxed(),
        }
    }

    fn restriction(spec: &'static Spec) -> impl Strategy<Value = GenRestriction> + Clone {
        let fields: Vec<&'static Field> = spec.fields.iter().filter(|f| f.filter).collect();
        let space = || select(&["", " ", "  ", "\t", "\n"][..]);
        (select(fields), space(), space(), any::<bool>()).prop_flat_map(move |(field, before, after, quote_it)| {
            (select(ops(field.kind)), value(field.kind)).prop_map(move |((op, op_text), (written, value))| {
                let quoted = quote_it || !bare_word(&written);
                GenRestriction { field, op, op_text, written, quoted, value, spaces: (before, after) }
            })
        })
    }

    fn term(spec: &'static Spec) -> impl Strategy<Value = GenTerm> + Clone {
        prop_oneof![
            3 => (vec(restriction(spec), 1..4), any::<bool>())
                .prop_map(|(group, parens)| GenTerm::AnyOf { parens: parens || group.len() > 1, group }),
            1 => (text_value(), any::<bool>())
                .prop_map(|(text, quote_it)| GenTerm::Text { quoted: quote_it || !bare_word(&text), text }),
        ]
    }

    fn render(terms: &[GenTerm], joins: &[&str]) -> String {
        let restriction = |r: &GenRestriction| {
            let value = if r.quoted { quote(&r.written) } else { r.written.clone() };
            format!("{}{}{}{}{value}", r.field.name, r.spaces.0, r.op_text, r.spaces.1)
        };
        let mut out = String::new();
        for (n, t) in terms.iter().enumerate() {
            if n > 0 {
                out.push_str(joins[n % joins.len()]);
            }
            match t {
                GenTerm::AnyOf { group, parens } => {
                    let inner = group.iter().map(restriction).collect::<Vec<_>>().join(" OR ");
                    out.push_str(&if *parens { format!("({inner})") } else { inner });
                }
                GenTerm::Text { text, quoted: true } => out.push_str(&quote(text)),
                GenTerm::Text { text, quoted: false } => out.push_str(text),
            }
        }
        out
    }

    /// What the parser must make of the generated terms.
    fn expected(terms: &[GenTerm]) -> Vec<Parsed> {
        terms
            .iter()
            .map(|t| match t {
                GenTerm::AnyOf { group, .. } => {
                    Parsed::AnyOf(group.iter().map(|r| (r.field.name, r.op, r.value.clone())).collect())
                }
                GenTerm::Text { text, .. } => Parsed::Text(text.clone()),
            })
            .collect()
    }

    /// The values the query must bind for the generated terms, in order.
    fn expected_binds(terms: &[GenTerm]) -> Vec<Value> {
        let mut out = Vec::new();
        for t in terms {
            match t {
                GenTerm::AnyOf { group, .. } => {
                    for r in group {
                        match (&r.value, r.field.kind, r.op) {
                            (_, Kind::IsSet, _) => {}
                            (Value::Text(t), Kind::Glob, _) if t.ends_with('*') => {
                                out.push(Value::Text(format!("{}%", escape_like(&t[..t.len() - 1]))));
                            }
                            (Value::Text(t), _, Op::Has) => out.push(Value::Text(format!("%{}%", escape_like(t)))),
                            (v, _, _) => out.push(v.clone()),
                        }
                    }
                }
                GenTerm::Text { text, .. } => {
                    let pattern = Value::Text(format!("%{}%", escape_like(text)));
                    out.extend(EVERY_KIND.search.iter().map(|_| pattern.clone()));
                }
            }
        }
        out
    }

    /// The inverse of [`escape_like`] (None when `s` is not an escaped pattern).
    fn unescape_like(s: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().filter(|e| "\\%_".contains(*e))?),
                '%' | '_' => return None,
                c => out.push(c),
            }
        }
        Some(out)
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Generated well-formed filters (random fields, operators and values, values with any
        /// characters quoted and escaped, bare where the language allows, juxtaposition or AND)
        /// parse to exactly those comparisons with exactly those values, and every value
        /// reaches the query as a bound parameter, never as SQL text.
        #[test]
        fn well_formed_filters_round_trip(
            terms in vec(term(&EVERY_KIND), 0..5),
            joins in vec(select(&[" AND ", " ", "  AND\t", "\nAND "][..]), 1..4),
        ) {
            let filter = render(&terms, &joins);
            let plan = EVERY_KIND.plan(ListParams { filter: &filter, ..Default::default() });
            if filter.len() > MAX_FILTER_LEN {
                prop_assert!(plan.is_err());
                return Ok(());
            }
            let plan = plan.map_err(|e| TestCaseError::fail(format!("{filter:?}: {e:?}")))?;
            prop_assert_eq!(parsed(&plan), expected(&terms), "{:?}", filter);
            let binds: Vec<Value> = plan
                .where_pieces(&EVERY_KIND)
                .into_iter()
                .filter_map(|p| match p { Piece::Bind(v) => Some(v), Piece::Sql(_) => None })
                .collect();
            prop_assert_eq!(binds, expected_binds(&terms), "{:?}", filter);
            check_sql(0, &plan)?;
        }

        /// Generated sort orders (sortable fields, any case of asc/desc, loose spacing) become
        /// exactly those columns and directions, then the tie-breaker.
        #[test]
        fn order_by_round_trips(
            items in vec((select(EVERY_KIND.fields.iter().filter(|f| f.sort).collect::<Vec<_>>()),
                          select(&["", " asc", " ASC", " desc", " Desc", "  DESC  "][..])), 1..5),
            sep in select(&[",", ", ", " , ", ",\t"][..]),
        ) {
            let order_by = items.iter().map(|(f, dir)| format!("{}{dir}", f.name)).collect::<Vec<_>>().join(sep);
            let plan = EVERY_KIND.plan(ListParams { order_by: &order_by, ..Default::default() }).unwrap();
            let mut expected: Vec<String> = items
                .iter()
                .map(|(f, dir)| match dir.trim().to_ascii_lowercase().as_str() {
                    "desc" => format!("{} DESC NULLS LAST", f.sql),
                    _ => format!("{} ASC NULLS FIRST", f.sql),
                })
                .collect();
            expected.push(EVERY_KIND.tiebreak.to_string());
            prop_assert_eq!(&plan.order, &expected.join(", "));
            check_sql(0, &plan)?;
        }

        /// LIKE patterns match their text literally: `%` and `_` in a value are escaped.
        #[test]
        fn like_escaping_is_reversible(s in text_value()) {
            prop_assert_eq!(unescape_like(&escape_like(&s)), Some(s));
        }
    }
}
