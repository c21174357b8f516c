//! The list-filter language of core-svc's List RPCs (AIP-160 subset; grammar: core-svc's
//! `list.rs`). Edges build filters from client text; this is where that text is quoted.

/// A string literal of the filter language: `"…"` with `\` and `"` escaped. This is the escaping
/// boundary for client text: a value passed through it can never change the filter's structure
/// (core-svc binds every literal as a parameter; `tests/tests/filter_quoting.rs` checks both).
pub fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_quotes_and_backslashes() {
        assert_eq!(super::literal("plain"), r#""plain""#);
        assert_eq!(super::literal(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(super::literal(r#"" OR id = "x"#), r#""\" OR id = \"x""#);
        assert_eq!(super::literal(""), r#""""#);
    }
}
