//! The edges quote client text into core-svc's filter language; that quoting is the escaping
//! boundary for client text. Properties over generated text: whatever a client sends, what an
//! edge builds is parsed by core-svc's own filter parser into exactly the values the client sent,
//! each bound as one parameter of the intended column and operator — no extra term, operator or
//! field. And rest-edge's translation of list parameters never panics. No server is needed.

use core_svc::list::{Field, Kind, ListParams, Piece, Spec, Value};
use graphql_edge::convert::{Filter, quote as graphql_quote};
use proptest::{collection::vec, prelude::*, sample::select, test_runner::Config};
use realtime_edge::protocol::filter_literal;
use rest_edge::list::{ListSpec, plan_from, quote as rest_quote};

/// Few cases (the whole set runs in seconds on 2 cores) and no `proptest-regressions/` files: a
/// failure prints its minimal input, which becomes a unit test.
fn config(cases: u32) -> Config {
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Every field the edges' builders name, as text (so that core-svc takes any value as it is),
/// and one integer field for rest-edge's comparisons.
static SPEC: Spec = Spec {
    fields: &[
        Field::new("name", "x.name", Kind::Text).sortable(),
        Field::new("slug", "x.slug", Kind::Text),
        Field::new("status", "x.status", Kind::Text),
        Field::new("role", "x.role", Kind::Text),
        Field::new("kind", "x.kind", Kind::Text),
        Field::new("owner_id", "x.owner_id", Kind::Text),
        Field::new("member_id", "x.member_id", Kind::Text),
        Field::new("project_id", "x.project_id", Kind::Text),
        Field::new("created_by", "x.created_by", Kind::Text),
        Field::new("seq", "x.seq", Kind::Int),
    ],
    search: &["x.search"],
    default_order: "x.id",
    tiebreak: "x.id",
};

/// One comparison as core-svc binds it: column, operator and value. Free text is
/// `("x.search", "text", Text(the text))`.
type Atom = (&'static str, &'static str, Value);

/// The terms of `filter` as core-svc plans them against [`SPEC`]: one list of OR-ed atoms per
/// ` AND (…)`, read back from the query pieces.
fn core_terms(filter: &str) -> Result<Vec<Vec<Atom>>, String> {
    let plan = SPEC.plan(ListParams { filter, ..Default::default() }).map_err(|e| format!("{e:?}"))?;
    let pieces = plan.where_pieces(&SPEC);
    let mut terms = Vec::new();
    let mut rest = pieces.as_slice();
    while let [Piece::Sql(" AND ("), tail @ ..] = rest {
        rest = tail;
        let mut term = Vec::new();
        loop {
            let (atom, tail) = match rest {
                [Piece::Sql("x.search"), Piece::Sql(" ILIKE "), Piece::Bind(Value::Text(p)), tail @ ..] => {
                    (("x.search", "text", Value::Text(unescape_pattern(p)?)), tail)
                }
                [Piece::Sql(col), Piece::Sql(op), Piece::Bind(v), tail @ ..] => ((*col, *op, v.clone()), tail),
                other => return Err(format!("not a comparison: {other:?}")),
            };
            term.push(atom);
            match tail {
                [Piece::Sql(" OR "), tail @ ..] => rest = tail,
                [Piece::Sql(")"), tail @ ..] => {
                    rest = tail;
                    break;
                }
                other => return Err(format!("unexpected {other:?}")),
            }
        }
        terms.push(term);
    }
    if !rest.is_empty() {
        return Err(format!("trailing {rest:?}"));
    }
    Ok(terms)
}

/// The text of a free-text `%…%` ILIKE pattern.
fn unescape_pattern(p: &str) -> Result<String, String> {
    let inner = p.strip_prefix('%').and_then(|p| p.strip_suffix('%')).ok_or(format!("pattern {p:?}"))?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().filter(|e| "\\%_".contains(*e)).ok_or(format!("pattern {p:?}"))?),
            '%' | '_' => return Err(format!("unescaped wildcard in {p:?}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Any characters, control characters and NUL included.
fn chars(max: usize) -> impl Strategy<Value = String> + Clone {
    vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

/// Client text: any characters, or pieces of the filter language that an unescaped literal
/// would turn into structure.
fn text() -> impl Strategy<Value = String> + Clone {
    const PIECES: &[&str] = &[
        "\"",
        "\\",
        "\\\"",
        "\" OR name = \"",
        "\") OR (slug = \"",
        " AND ",
        "OR",
        "(",
        ")",
        "=",
        "!=",
        ":",
        "<=",
        "*",
        "%",
        "_",
        "'",
        ";",
        "--",
        "\0",
        "\n",
        " ",
        "name",
        "x.name",
        "é",
        "😀",
    ];
    prop_oneof![2 => chars(24), 1 => vec(select(PIECES), 0..6).prop_map(|p| p.concat())]
}

/// `"a b"` → `"a b"`: the text of a free-text term as core-svc sees it (the edges trim).
fn trimmed(s: &str) -> Option<String> {
    Some(s.trim()).filter(|t| !t.is_empty()).map(str::to_owned)
}

proptest! {
    #![proptest_config(config(256))]

    /// Each edge's quoting helper — rest-edge `list::quote`, graphql-edge `convert::quote`,
    /// realtime-edge `protocol::filter_literal` — writes the same literal, and core-svc reads it
    /// back as exactly the original string: as a value, as free text, and inside realtime-edge's
    /// replay filter against the real events list.
    #[test]
    fn quoted_text_parses_back_to_exactly_itself(s in text(), after in 0..i64::MAX, until in 0..i64::MAX) {
        let q = rest_quote(&s);
        prop_assert_eq!(&q, &graphql_quote(&s));
        prop_assert_eq!(&q, &filter_literal(&s));

        let terms = core_terms(&format!("name = {q}")).map_err(TestCaseError::fail)?;
        prop_assert_eq!(terms, vec![vec![("x.name", " = ", Value::Text(s.clone()))]]);
        let terms = core_terms(&format!("slug != {q} AND {q}")).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            terms,
            vec![vec![("x.slug", " <> ", Value::Text(s.clone()))], vec![("x.search", "text", Value::Text(s.clone()))]]
        );

        // realtime-edge's replay of a channel (connection.rs), against core-svc's events list.
        let events = &core_svc::store::events::LIST;
        let filter = format!("channel = {} AND seq > {after} AND seq <= {until}", filter_literal(&s));
        let plan = events.plan(ListParams { filter: &filter, ..Default::default() });
        let plan = plan.map_err(|e| TestCaseError::fail(format!("{filter:?}: {e:?}")))?;
        let sql = |s| Piece::Sql(s);
        prop_assert_eq!(plan.where_pieces(events), vec![
            sql(" AND ("), Piece::Bind(Value::Text(s.clone())), sql(" = ANY("), sql("e.channels"), sql(")"), sql(")"),
            sql(" AND ("), sql("e.seq"), sql(" > "), Piece::Bind(Value::Int(after)), sql(")"),
            sql(" AND ("), sql("e.seq"), sql(" <= "), Piece::Bind(Value::Int(until)), sql(")"),
        ]);
    }
}

/// One call of graphql-edge's [`Filter`] builder.
#[derive(Debug, Clone)]
enum Call {
    Eq(&'static str, Option<String>),
    Any(&'static str, Vec<String>),
    Text(Option<String>),
}

fn graphql_field() -> impl Strategy<Value = &'static str> {
    select(&["status", "role", "kind", "slug", "owner_id", "member_id", "project_id", "created_by"][..])
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (graphql_field(), proptest::option::of(text())).prop_map(|(f, v)| Call::Eq(f, v)),
        (graphql_field(), vec(text(), 0..4)).prop_map(|(f, v)| Call::Any(f, v)),
        proptest::option::of(text()).prop_map(Call::Text),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Any sequence of graphql-edge `Filter` calls with any values builds a filter that core-svc
    /// parses into exactly one term per call that has values, in order, with exactly those
    /// values.
    #[test]
    fn graphql_filters_parse_to_exactly_their_calls(calls in vec(call(), 0..6)) {
        let mut filter = Filter::default();
        let mut expected: Vec<Vec<Atom>> = Vec::new();
        let col = |f: &str| SPEC.fields.iter().find(|x| x.name == f).unwrap().sql;
        for c in &calls {
            filter = match c {
                Call::Eq(f, v) => {
                    if let Some(v) = v {
                        expected.push(vec![(col(f), " = ", Value::Text(v.clone()))]);
                    }
                    filter.eq(f, v.as_deref())
                }
                Call::Any(f, values) => {
                    if !values.is_empty() {
                        expected.push(values.iter().map(|v| (col(f), " = ", Value::Text(v.clone()))).collect());
                    }
                    filter.any(f, values.iter().map(String::as_str))
                }
                Call::Text(t) => {
                    if let Some(t) = t.as_deref().and_then(trimmed) {
                        expected.push(vec![("x.search", "text", Value::Text(t))]);
                    }
                    filter.text(t.as_deref())
                }
            };
        }
        let filter = filter.build();
        let terms = core_terms(&filter).map_err(|e| TestCaseError::fail(format!("{filter:?}: {e}")))?;
        prop_assert_eq!(terms, expected, "{:?}", filter);
    }
}

/// rest-edge names → core-svc names; `seq` takes the comparison suffixes.
static REST: ListSpec = ListSpec {
    resource: "things",
    filters: &[("name", "name"), ("slug", "slug"), ("owner", "owner_id"), ("seq", "seq")],
    sorts: &[("name", "name")],
    ids_by_get: false,
};

/// One query parameter of a React Admin or json-server list request.
#[derive(Debug, Clone)]
enum Param {
    /// `filter={…}`: (key, value) members.
    Json(Vec<(String, serde_json::Value)>),
    /// `key=value`.
    Plain(String, String),
}

fn rest_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    prop_oneof![
        4 => text().prop_map(J::String),
        1 => any::<i64>().prop_map(J::from),
        1 => any::<bool>().prop_map(J::Bool),
        1 => Just(J::Null),
        2 => vec(prop_oneof![text().prop_map(J::String), any::<i32>().prop_map(J::from)], 0..4).prop_map(J::Array),
    ]
}

/// Well-formed parameters: any text as values of the text fields and free text, integers for
/// `seq`'s comparisons.
fn param() -> impl Strategy<Value = Param> {
    let text_key = select(&["name", "slug", "owner", "name_ne", "owner_ne"][..]);
    let seq = (select(&["seq", "seq_gte", "seq_gt", "seq_lte", "seq_lt", "seq_ne"][..]), any::<i64>());
    let member = prop_oneof![
        3 => (text_key, rest_value()).prop_map(|(k, v)| {
            // A list needs plain equality.
            let v = if k.ends_with("_ne") && v.is_array() { serde_json::Value::Null } else { v };
            (k.to_string(), v)
        }),
        1 => seq.clone().prop_map(|(k, n)| (k.to_string(), n.into())),
        1 => text().prop_map(|t| ("q".to_string(), t.into())),
    ];
    prop_oneof![
        1 => vec(member, 0..4).prop_map(Param::Json),
        2 => (select(&["name", "slug", "owner", "name_ne", "q"][..]), text())
            .prop_map(|(k, v)| Param::Plain(k.into(), v)),
        1 => seq.prop_map(|(k, n)| Param::Plain(k.into(), n.to_string())),
    ]
}

/// What each parameter must become: (core-svc column, operator) and value, one atom per value.
fn rest_atoms(params: &[Param]) -> Vec<Atom> {
    fn atom(key: &str, value: String) -> Atom {
        if key == "q" {
            return ("x.search", "text", Value::Text(value));
        }
        let (name, op) = match key.rsplit_once('_') {
            Some((name, "gte")) => (name, " >= "),
            Some((name, "gt")) => (name, " > "),
            Some((name, "lte")) => (name, " <= "),
            Some((name, "lt")) => (name, " < "),
            Some((name, "ne")) => (name, " <> "),
            _ => (key, " = "),
        };
        match name {
            "seq" => ("x.seq", op, Value::Int(value.parse().unwrap())),
            "name" => ("x.name", op, Value::Text(value)),
            "slug" => ("x.slug", op, Value::Text(value)),
            _ => ("x.owner_id", op, Value::Text(value)),
        }
    }
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::new();
    for p in params {
        match p {
            Param::Json(members) => {
                for (k, v) in members {
                    match v {
                        serde_json::Value::Null => {}
                        serde_json::Value::Array(items) => out.extend(items.iter().map(|i| atom(k, scalar(i)))),
                        v if k == "q" => out.extend(trimmed(&scalar(v)).map(|t| atom(k, t))),
                        v => out.push(atom(k, scalar(v))),
                    }
                }
            }
            Param::Plain(k, v) if k == "q" => out.extend(trimmed(v).map(|t| atom(k, t))),
            Param::Plain(_, v) if v.trim().is_empty() => {}
            Param::Plain(k, v) => out.push(atom(k, v.clone())),
        }
    }
    out
}

fn sorted(mut atoms: Vec<Atom>) -> Vec<Atom> {
    atoms.sort_by_key(|a| format!("{a:?}"));
    atoms
}

proptest! {
    #![proptest_config(config(256))]

    /// Well-formed React Admin / json-server parameters with any text: rest-edge's filter is
    /// parsed by core-svc into exactly the values sent — each one bound once, to its column
    /// and operator, nothing more.
    #[test]
    fn rest_filters_parse_to_exactly_the_values_sent(params in vec(param(), 0..4)) {
        // A `filter` object keeps one value per key, as JSON does.
        let params: Vec<Param> = params
            .into_iter()
            .map(|p| match p {
                Param::Json(members) => {
                    let map: serde_json::Map<_, _> = members.into_iter().collect();
                    Param::Json(map.into_iter().collect())
                }
                p => p,
            })
            .collect();
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|p| match p {
                Param::Json(members) => {
                    let map: serde_json::Map<_, _> = members.iter().cloned().collect();
                    ("filter".to_string(), serde_json::Value::Object(map).to_string())
                }
                Param::Plain(k, v) => (k.clone(), v.clone()),
            })
            .collect();
        let plan = plan_from(&pairs, None, &REST).map_err(|e| TestCaseError::fail(format!("{pairs:?}: {e:?}")))?;
        let expected = sorted(rest_atoms(&params));
        // An empty list matches nothing; rest-edge then does not ask core-svc at all.
        if plan.matches_nothing {
            return Ok(());
        }
        if plan.filter.len() > 4096 {
            prop_assert!(core_terms(&plan.filter).is_err());
            return Ok(());
        }
        let terms = core_terms(&plan.filter).map_err(|e| TestCaseError::fail(format!("{:?}: {e}", plan.filter)))?;
        prop_assert_eq!(sorted(terms.concat()), expected, "{:?}", plan.filter);
    }
}

/// Integers, many at the edges of `i64`.
fn number() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![
        Just(0),
        Just(i64::MAX),
        Just(i64::MIN),
        (0..=1000i64).prop_map(|d| i64::MAX - d),
        0..2000i64,
        any::<i64>(),
    ]
}

/// Any query parameter, well-formed or not, with numbers at the edges of `i64`.
fn any_pair() -> impl Strategy<Value = (String, String)> {
    const KEYS: &[&str] = &[
        "filter", "range", "sort", "_start", "_end", "_sort", "_order", "q", "_", "embed", "name", "name_ne",
        "seq_gte", "seq_lt", "owner", "id", "bogus", "",
    ];
    let key = prop_oneof![
        2 => select(&["range", "_start", "_end"][..]).prop_map(str::to_owned),
        4 => select(KEYS).prop_map(str::to_owned),
        1 => chars(8),
    ];
    let big = number();
    let value = prop_oneof![
        2 => chars(24),
        2 => text(),
        2 => big.clone().prop_map(|n| n.to_string()),
        2 => (big.clone(), big.clone()).prop_map(|(s, e)| format!("[{s},{e}]")),
        1 => (select(&["name", "nope", "seq"][..]), select(&["ASC", "DESC", "up", ""][..]))
            .prop_map(|(f, d)| format!("[\"{f}\",\"{d}\"]")),
        1 => vec((select(&["name", "seq_gte", "q", "owner", "x"][..]), rest_value()), 0..4).prop_map(|m| {
            serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).to_string()
        }),
        1 => select(&["{", "[1]", "[5,1]", "[-1,3]", "x", "", " ", "asc", "desc", "name,name", "asc,desc,up"][..])
            .prop_map(str::to_owned),
    ];
    (key, value)
}

fn range_header() -> impl Strategy<Value = Option<String>> {
    let n = number();
    prop_oneof![
        2 => Just(None),
        1 => (n.clone(), n).prop_map(|(s, e)| Some(format!("things={s}-{e}"))),
        1 => chars(16).prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// Any query parameters and `Range` header: rest-edge's list translation answers a plan or
    /// a 400 reason, never panics; a plan asks for 1..=1000 records from a non-negative offset,
    /// and core-svc either plans its filter and order or refuses them as INVALID_ARGUMENT.
    #[test]
    fn rest_list_parameters_never_panic(pairs in vec(any_pair(), 0..6), range in range_header()) {
        let Ok(plan) = plan_from(&pairs, range.as_deref(), &REST) else { return Ok(()) };
        prop_assert!((1..=1000).contains(&plan.page_size), "{:?}", plan);
        prop_assert!(plan.skip >= 0);
        let planned = SPEC.plan(ListParams {
            filter: &plan.filter,
            order_by: &plan.order_by,
            page_size: plan.page_size,
            skip: plan.skip,
            ..Default::default()
        });
        prop_assert!(
            matches!(planned, Ok(_) | Err(core_svc::error::Error::InvalidArgument { .. })),
            "{:?}: {:?}", plan, planned
        );
    }
}
