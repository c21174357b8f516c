//! Translating React Admin list queries into core-svc's AIP List requests.
//!
//! Two dialects, both accepted on every list endpoint:
//! - ra-data-simple-rest: `filter={"q":"foo","status":"active","id":["a","b"]}`,
//!   `range=[0,24]` (inclusive; also the `Range: <res>=0-24` header), `sort=["name","ASC"]`;
//! - json-server: `_start=0&_end=25` (end exclusive), `_sort=name&_order=asc`, plain field
//!   filters `?status=active`, repeated keys `?id=a&id=b`, `q=` free text, and the suffixes
//!   `_gte _gt _lte _lt _ne` (e.g. `seq_gte=10`).
//!
//! The result is `page_size`, `skip`, an AIP-160 `filter` and an `order_by`. Field names are
//! translated from the REST names (docs/PRODUCT.md §9 "REST") to the proto's and checked against
//! the resource's documented fields, so an unknown key is a 400 here rather than something
//! silently ignored.
//! Every value travels as a quoted string with `"` and `\` escaped: client text can never change
//! the filter's structure.

use edge_kit::RequestId;
use poem::Request;
use serde_json::Value;

use crate::problem::ApiError;

/// core-svc's page size cap; asking for more is an error rather than a silent truncation.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// When a client asks without a range.
pub const DEFAULT_PAGE_SIZE: i64 = 100;

/// What a resource's list accepts: `(REST name, proto name)` pairs. A proto name written
/// `field=template` filters `field` by the template with `{}` replaced by the client's value: the
/// REST field is a view of a core field in core's terms (e.g. events' `project_id` is the channel
/// `project:<id>`).
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// The resource name used in `Content-Range`.
    pub resource: &'static str,
    pub filters: &'static [(&'static str, &'static str)],
    pub sorts: &'static [(&'static str, &'static str)],
    /// core-svc's List cannot filter this resource by id: a getMany (`{"id": [...]}`) becomes
    /// [`ListPlan::ids`] for the handler to fetch one by one.
    pub ids_by_get: bool,
}

impl ListSpec {
    fn filter_field(&self, name: &str) -> Option<FilterField> {
        self.filters.iter().find(|(rest, _)| *rest == name).map(|(_, aip)| match aip.split_once('=') {
            Some((field, template)) => FilterField { field, template: Some(template) },
            None => FilterField { field: aip, template: None },
        })
    }

    fn sort_field(&self, name: &str) -> Option<&'static str> {
        self.sorts.iter().find(|(rest, _)| *rest == name).map(|(_, aip)| *aip)
    }
}

/// The core field a REST filter key stands for.
#[derive(Debug, Clone, Copy)]
struct FilterField {
    field: &'static str,
    template: Option<&'static str>,
}

impl FilterField {
    fn value(&self, client: &str) -> String {
        match self.template {
            Some(t) => t.replace("{}", client),
            None => client.to_string(),
        }
    }
}

/// A list request ready for core-svc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPlan {
    pub page_size: i32,
    pub skip: i32,
    pub filter: String,
    pub order_by: String,
    /// The filter can match nothing (e.g. `{"id": []}`): no need to ask core-svc.
    pub matches_nothing: bool,
    /// Set for [`ListSpec::ids_by_get`] resources when the query asks for ids.
    pub ids: Option<Vec<String>>,
    /// `(proto field, value)` of every plain equality with one value (also in [`Self::filter`]),
    /// for List requests that name their parent in a field of their own (e.g. `project_id`).
    pub equals: Vec<(String, String)>,
}

impl ListPlan {
    /// The value of a one-valued equality on `field` (a proto field name), if the query has one.
    pub fn equal(&self, field: &str) -> Option<&str> {
        self.equals.iter().find(|(f, _)| f == field).map(|(_, v)| v.as_str())
    }

    /// `Content-Range: <resource> <first>-<last>/<total>` (`*/<total>` for an empty page).
    pub fn content_range(&self, spec: &ListSpec, returned: usize, total: i64) -> String {
        if returned == 0 {
            format!("{} */{total}", spec.resource)
        } else {
            format!("{} {}-{}/{total}", spec.resource, self.skip, i64::from(self.skip) + returned as i64 - 1)
        }
    }
}

/// One parsed list query (before it becomes a [`ListPlan`]).
#[derive(Debug, Default)]
struct Parsed {
    /// (proto field, op, values): several values are OR-ed.
    restrictions: Vec<(String, &'static str, Vec<String>)>,
    text: Vec<String>,
    sort: Vec<(String, bool)>,
    range: Option<(i64, i64)>,
}

/// Parses the request's query string (and `Range` header) for `spec`.
pub fn plan(req: &Request, spec: &ListSpec, request_id: &RequestId) -> Result<ListPlan, ApiError> {
    let pairs: Vec<(String, String)> = req
        .params()
        .map_err(|e| ApiError::bad_input("query", format!("cannot parse the query string: {e}"), request_id))?;
    let range_header = req.headers().get("range").and_then(|v| v.to_str().ok());
    plan_from(&pairs, range_header, spec).map_err(|(field, msg)| ApiError::bad_input(field, msg, request_id))
}

type ParseError = (&'static str, String);

/// [`plan`] without the request, for unit tests.
pub fn plan_from(
    pairs: &[(String, String)],
    range_header: Option<&str>,
    spec: &ListSpec,
) -> Result<ListPlan, ParseError> {
    let mut p = Parsed::default();
    let (mut start, mut end): (Option<i64>, Option<i64>) = (None, None);
    let mut json_sort: Option<String> = None;
    let mut order: Option<String> = None;
    for (key, value) in pairs {
        // `?filter=&range=` from form-like clients means "not given".
        if value.trim().is_empty() && key != "q" {
            continue;
        }
        match key.as_str() {
            "filter" => parse_filter_json(value, spec, &mut p)?,
            "range" => p.range = Some(parse_range_json(value)?),
            "sort" => parse_sort_json(value, spec, &mut p)?,
            "_start" => start = Some(parse_int("_start", value)?),
            "_end" => end = Some(parse_int("_end", value)?),
            "_sort" => json_sort = Some(value.clone()),
            "_order" => order = Some(value.clone()),
            "q" => push_text(&mut p, value),
            // Cache busters, and ra-data-simple-rest's `embed` (relations are not embedded here;
            // React Admin fetches references itself).
            "_" | "embed" => {}
            other => {
                let (name, op) = split_op(other);
                let ff = spec.filter_field(name).ok_or_else(|| unknown_filter(spec, other))?;
                let (aip, value) = (ff.field, ff.value(value));
                match p.restrictions.iter_mut().find(|(f, o, _)| f == aip && *o == op && op == "=") {
                    Some((_, _, values)) => values.push(value),
                    None => p.restrictions.push((aip.to_string(), op, vec![value])),
                }
            }
        }
    }
    if let Some(fields) = json_sort {
        let orders: Vec<&str> = order.as_deref().map(|o| o.split(',').collect()).unwrap_or_default();
        for (i, field) in fields.split(',').enumerate() {
            let desc = match orders.get(i).map(|o| o.trim().to_ascii_lowercase()).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => return Err(("_order", format!("must be asc or desc, not {other:?}"))),
            };
            push_sort(&mut p, spec, field.trim(), desc, "_sort")?;
        }
    } else if order.is_some() {
        return Err(("_order", "needs _sort".into()));
    }
    if p.range.is_none() && (start.is_some() || end.is_some()) {
        let s = start.unwrap_or(0);
        let e = match end {
            Some(e) if e <= s => return Err(("_end", "must be greater than _start".into())),
            Some(e) => e - 1,
            // Saturating, like the page size below: `_start` may be any non-negative i64.
            None => s.saturating_add(DEFAULT_PAGE_SIZE - 1),
        };
        p.range = Some((s, e));
    }
    if p.range.is_none()
        && let Some(h) = range_header
    {
        p.range = Some(parse_range_header(h)?);
    }
    let mut ids = None;
    if spec.ids_by_get
        && let Some(i) = p.restrictions.iter().position(|(f, op, _)| f == "id" && *op == "=")
    {
        if p.restrictions.len() > 1 || !p.text.is_empty() {
            return Err(("filter", "id cannot be combined with other filters on this resource".into()));
        }
        let (_, _, values) = p.restrictions.remove(i);
        if values.len() as i64 > MAX_PAGE_SIZE {
            return Err(("filter", format!("at most {MAX_PAGE_SIZE} ids")));
        }
        ids = Some(values);
    }
    let mut plan = build(p)?;
    plan.ids = ids;
    Ok(plan)
}

fn build(p: Parsed) -> Result<ListPlan, ParseError> {
    let mut matches_nothing = false;
    let mut terms = Vec::new();
    let mut equals = Vec::new();
    for (field, op, values) in &p.restrictions {
        if let ([value], "=") = (values.as_slice(), *op) {
            equals.push((field.clone(), value.clone()));
        }
        if values.is_empty() {
            matches_nothing = true;
            continue;
        }
        let parts: Vec<String> = values.iter().map(|v| format!("{field} {op} {}", quote(v))).collect();
        terms.push(if parts.len() == 1 { parts[0].clone() } else { format!("({})", parts.join(" OR ")) });
    }
    for t in &p.text {
        terms.push(quote(t));
    }
    let (skip, page_size) = match p.range {
        // 0 <= s <= e, so only the + 1 can overflow (`range=[0,9223372036854775807]`); saturated,
        // it is refused as too large below.
        Some((s, e)) => (s, (e - s).saturating_add(1)),
        None => {
            // getMany sends ids and no range: return them all.
            let ids = p.restrictions.iter().map(|(_, _, v)| v.len() as i64).max().unwrap_or(0);
            (0, ids.clamp(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))
        }
    };
    if page_size > MAX_PAGE_SIZE {
        return Err(("range", format!("at most {MAX_PAGE_SIZE} records per page")));
    }
    let skip = i32::try_from(skip).map_err(|_| ("range", "start is too large".to_string()))?;
    let order_by = p
        .sort
        .iter()
        .map(|(f, desc)| if *desc { format!("{f} desc") } else { f.clone() })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(ListPlan {
        page_size: page_size as i32,
        skip,
        filter: terms.join(" AND "),
        order_by,
        matches_nothing,
        ids: None,
        equals,
    })
}

/// An AIP-160 string literal.
pub use proto::filter::literal as quote;

fn split_op(key: &str) -> (&str, &'static str) {
    for (suffix, op) in [("_gte", ">="), ("_lte", "<="), ("_gt", ">"), ("_lt", "<"), ("_ne", "!=")] {
        if let Some(name) = key.strip_suffix(suffix) {
            return (name, op);
        }
    }
    (key, "=")
}

fn unknown_filter(spec: &ListSpec, key: &str) -> ParseError {
    let names: Vec<_> = spec.filters.iter().map(|(n, _)| *n).collect();
    ("filter", format!("unknown filter field {key:?}; filterable fields: q, {}", names.join(", ")))
}

fn push_text(p: &mut Parsed, value: &str) {
    let t = value.trim();
    if !t.is_empty() {
        p.text.push(t.to_string());
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_filter_json(raw: &str, spec: &ListSpec, p: &mut Parsed) -> Result<(), ParseError> {
    let v: Value = serde_json::from_str(raw).map_err(|e| ("filter", format!("must be a JSON object: {e}")))?;
    let Value::Object(map) = v else {
        return Err(("filter", "must be a JSON object".into()));
    };
    for (key, value) in map {
        if key == "q" {
            match &value {
                Value::Null => {}
                v => push_text(p, &scalar(v).ok_or(("filter", "q must be a string".to_string()))?),
            }
            continue;
        }
        let (name, op) = split_op(&key);
        let ff = spec.filter_field(name).ok_or_else(|| unknown_filter(spec, &key))?;
        let values: Vec<String> = match value {
            // React Admin sends null for a cleared filter input.
            Value::Null => continue,
            Value::Array(items) => {
                if op != "=" {
                    return Err(("filter", format!("{key}: a list needs plain equality")));
                }
                items
                    .iter()
                    .map(|i| {
                        scalar(i).ok_or_else(|| ("filter", format!("{key}: list items must be strings or numbers")))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            other => {
                vec![scalar(&other).ok_or_else(|| ("filter", format!("{key}: must be a string, number or list")))?]
            }
        };
        let values = values.iter().map(|v| ff.value(v)).collect();
        p.restrictions.push((ff.field.to_string(), op, values));
    }
    Ok(())
}

fn parse_range_json(raw: &str) -> Result<(i64, i64), ParseError> {
    let bad = || ("range", "must be [start, end]: two integers, 0 <= start <= end".to_string());
    let v: Vec<Value> = serde_json::from_str(raw).map_err(|_| bad())?;
    match v.as_slice() {
        [s, e] => {
            let (s, e) = (s.as_i64().ok_or_else(bad)?, e.as_i64().ok_or_else(bad)?);
            if s < 0 || e < s {
                return Err(bad());
            }
            Ok((s, e))
        }
        _ => Err(bad()),
    }
}

fn parse_range_header(raw: &str) -> Result<(i64, i64), ParseError> {
    let bad = || ("range", format!("cannot parse the Range header {raw:?}; use <resource>=<start>-<end>"));
    let (_, span) = raw.split_once('=').ok_or_else(bad)?;
    let (s, e) = span.split_once('-').ok_or_else(bad)?;
    let (s, e): (i64, i64) = (s.trim().parse().map_err(|_| bad())?, e.trim().parse().map_err(|_| bad())?);
    if s < 0 || e < s {
        return Err(bad());
    }
    Ok((s, e))
}

fn parse_sort_json(raw: &str, spec: &ListSpec, p: &mut Parsed) -> Result<(), ParseError> {
    let bad = || ("sort", "must be [field, \"ASC\"|\"DESC\"]".to_string());
    let v: Vec<String> = serde_json::from_str(raw).map_err(|_| bad())?;
    let (field, desc) = match v.as_slice() {
        [f] => (f, false),
        [f, d] => match d.to_ascii_uppercase().as_str() {
            "ASC" => (f, false),
            "DESC" => (f, true),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    push_sort(p, spec, field, desc, "sort")
}

fn push_sort(p: &mut Parsed, spec: &ListSpec, field: &str, desc: bool, param: &'static str) -> Result<(), ParseError> {
    let aip = spec.sort_field(field).ok_or_else(|| {
        let names: Vec<_> = spec.sorts.iter().map(|(n, _)| *n).collect();
        (param, format!("cannot sort by {field:?}; sortable fields: {}", names.join(", ")))
    })?;
    p.sort.push((aip.to_string(), desc));
    Ok(())
}

fn parse_int(field: &'static str, raw: &str) -> Result<i64, ParseError> {
    raw.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| (field, "must be a non-negative integer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ListSpec = ListSpec {
        resource: "projects",
        filters: &[("id", "id"), ("status", "status"), ("name", "name"), ("seq", "seq")],
        sorts: &[("id", "create_time"), ("name", "name"), ("created_at", "create_time")],
        ids_by_get: false,
    };

    fn q(pairs: &[(&str, &str)]) -> Result<ListPlan, ParseError> {
        let pairs: Vec<_> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        plan_from(&pairs, None, &SPEC)
    }

    #[test]
    fn simple_rest_list() {
        let p = q(&[
            ("filter", r#"{"q":"foo","status":"active"}"#),
            ("range", "[10,19]"),
            ("sort", r#"["created_at","DESC"]"#),
        ])
        .unwrap();
        assert_eq!((p.skip, p.page_size), (10, 10));
        assert_eq!(p.order_by, "create_time desc");
        assert_eq!(p.filter, r#"status = "active" AND "foo""#);
        assert_eq!(p.content_range(&SPEC, 10, 42), "projects 10-19/42");
        assert_eq!(p.content_range(&SPEC, 0, 0), "projects */0");
    }

    #[test]
    fn templated_filter_fields() {
        const EVENTS: ListSpec = ListSpec {
            resource: "events",
            filters: &[("channel", "channel"), ("project_id", "channel=project:{}")],
            sorts: &[("id", "seq")],
            ids_by_get: true,
        };
        let plan = |pairs: &[(&str, &str)]| {
            let pairs: Vec<_> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            plan_from(&pairs, None, &EVENTS).unwrap()
        };
        assert_eq!(plan(&[("filter", r#"{"project_id":"p1"}"#)]).filter, r#"channel = "project:p1""#);
        assert_eq!(plan(&[("project_id", "p\"2")]).filter, r#"channel = "project:p\"2""#);
        assert_eq!(
            plan(&[("filter", r#"{"project_id":["a","b"]}"#)]).filter,
            r#"(channel = "project:a" OR channel = "project:b")"#
        );
    }

    #[test]
    fn get_many_and_quoting() {
        let p = q(&[("filter", r#"{"id":["a","b\"c\\"]}"#)]).unwrap();
        assert_eq!(p.filter, r#"(id = "a" OR id = "b\"c\\")"#);
        assert_eq!((p.skip, p.page_size), (0, DEFAULT_PAGE_SIZE as i32));
        assert!(q(&[("filter", r#"{"id":[]}"#)]).unwrap().matches_nothing);
    }

    #[test]
    fn json_server_style() {
        let p =
            q(&[("_start", "5"), ("_end", "10"), ("_sort", "name"), ("_order", "DESC"), ("status", "active")]).unwrap();
        assert_eq!((p.skip, p.page_size), (5, 5));
        assert_eq!(p.order_by, "name desc");
        assert_eq!(p.filter, r#"status = "active""#);
        let p = q(&[("id", "a"), ("id", "b"), ("seq_gte", "3")]).unwrap();
        assert_eq!(p.filter, r#"(id = "a" OR id = "b") AND seq >= "3""#);
        assert_eq!((p.equal("id"), p.equal("seq")), (None, None));
        let p = q(&[("filter", r#"{"status":"active","id":["a"]}"#)]).unwrap();
        assert_eq!((p.equal("status"), p.equal("id")), (Some("active"), Some("a")));
    }

    #[test]
    fn ids_by_get() {
        let spec = ListSpec { ids_by_get: true, ..SPEC };
        let pairs = vec![("filter".to_string(), r#"{"id":["a","b"]}"#.to_string())];
        let p = plan_from(&pairs, None, &spec).unwrap();
        assert_eq!(p.ids, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(p.filter, "");
        let pairs = vec![("filter".to_string(), r#"{"id":["a"],"status":"x"}"#.to_string())];
        assert!(plan_from(&pairs, None, &spec).is_err());
    }

    #[test]
    fn range_header_is_a_fallback() {
        let p = plan_from(&[], Some("projects=20-29"), &SPEC).unwrap();
        assert_eq!((p.skip, p.page_size), (20, 10));
    }

    #[test]
    fn empty_parameters_are_absent() {
        let p = q(&[("filter", ""), ("range", ""), ("sort", ""), ("_sort", ""), ("_order", "")]).unwrap();
        assert_eq!((p.filter.as_str(), p.order_by.as_str(), p.skip), ("", "", 0));
    }

    #[test]
    fn bad_input_is_rejected() {
        for (k, v) in [
            ("filter", "{"),
            ("filter", "[1]"),
            ("filter", r#"{"nope":"x"}"#),
            ("filter", r#"{"status":{"a":1}}"#),
            ("range", "[5,1]"),
            ("range", "[-1,3]"),
            ("range", "[0,100000]"),
            ("range", "[3000000000,3000000001]"),
            ("range", "[0,9223372036854775807]"),
            ("_start", "9223372036854775807"),
            ("range", "x"),
            ("sort", r#"["nope","ASC"]"#),
            ("sort", r#"["name","UP"]"#),
            ("sort", "name"),
            ("_start", "-1"),
            ("_order", "asc"),
            ("bogus", "1"),
        ] {
            assert!(q(&[(k, v)]).is_err(), "{k}={v} was accepted");
        }
    }
}
