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
            offset += decode_token(p.page_token, fingerprint)?;
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
    fn page_size_and_skip_bounds() {
        assert_eq!(SPEC.plan(ListParams { page_size: 100_000, ..Default::default() }).unwrap().limit, MAX_PAGE_SIZE);
        assert!(SPEC.plan(ListParams { page_size: -1, ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { skip: -1, ..Default::default() }).is_err());
        assert!(SPEC.plan(ListParams { skip: i32::MAX, ..Default::default() }).is_err());
    }
}

