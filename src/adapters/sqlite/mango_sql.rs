//! Compiles a Mango selector and sort to SQLite SQL over `json_extract`/`json_type`, with every value bound as a
//! parameter. Field paths (validated by `FieldPath`) are the only text written into the SQL, as JSON path literals,
//! so that `json_extract(doc,'$.field')` is the very expression an index was built on.

use crate::core::mango::{Cond, ElemMatch, FieldPath, Selector, SortDir, SortKey};
use serde_json::Value;

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Real(f64),
    Text(String),
}

/// SQL text and the parameters for its placeholders, in order.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// The JSON path literal of a field: `'$."a"."b"'`.
pub fn json_path(path: &FieldPath) -> String {
    let mut s = String::from("'$");
    for seg in path.segments() {
        s.push_str(".\"");
        s.push_str(seg);
        s.push('"');
    }
    s.push('\'');
    s
}

/// The expression an index on `path` is built on, and that queries and sorts use.
pub fn extract_expr(path: &FieldPath) -> String {
    format!("json_extract(doc, {})", json_path(path))
}

/// Where a condition reads its value: a path inside the stored document, or an array element of `$elemMatch`.
#[derive(Clone)]
struct Target {
    value: String,
    ty: String,
    /// JSON text and path for array functions (`json_each`, `json_array_length`).
    json: String,
    path: String,
}

impl Target {
    fn doc(path: &FieldPath) -> Self {
        let p = json_path(path);
        Self {
            value: format!("json_extract(doc, {p})"),
            ty: format!("json_type(doc, {p})"),
            json: "doc".into(),
            path: p,
        }
    }

    /// Element `alias` of a `json_each`, optionally a path inside it.
    fn element(alias: &str, path: Option<&FieldPath>) -> Self {
        let container =
            format!("(CASE WHEN {alias}.type IN ('object','array') THEN {alias}.value END)");
        match path {
            None => Self {
                value: format!("{alias}.value"),
                ty: format!("{alias}.type"),
                json: container,
                path: "'$'".into(),
            },
            Some(path) => {
                let p = json_path(path);
                Self {
                    value: format!("json_extract({container}, {p})"),
                    ty: format!("json_type({container}, {p})"),
                    json: container,
                    path: p,
                }
            }
        }
    }
}

/// Compiles selectors; aliases of nested `json_each` tables are numbered to stay unique.
#[derive(Default)]
pub struct Compiler {
    params: Vec<Param>,
    aliases: usize,
}

impl Compiler {
    /// The SQL boolean expression for `selector` over the column `doc` (NULL counts as false).
    pub fn selector(mut self, selector: &Selector) -> Sql {
        let text = self.sel(selector, None);
        Sql {
            text,
            params: self.params,
        }
    }

    fn bind(&mut self, p: Param) -> &'static str {
        self.params.push(p);
        "?"
    }

    fn sel(&mut self, s: &Selector, element: Option<&str>) -> String {
        match s {
            Selector::And(parts) if parts.is_empty() => "1".into(),
            Selector::And(parts) => self.join(parts, " AND ", element),
            Selector::Or(parts) => self.join(parts, " OR ", element),
            Selector::Nor(parts) => {
                format!("NOT {}", Self::definite(self.join(parts, " OR ", element)))
            }
            Selector::Field(path, conds) => {
                let target = match element {
                    None => Target::doc(path),
                    Some(alias) => Target::element(alias, Some(path)),
                };
                self.conds(&target, conds)
            }
        }
    }

    fn join(&mut self, parts: &[Selector], op: &str, element: Option<&str>) -> String {
        let texts: Vec<String> = parts.iter().map(|p| self.sel(p, element)).collect();
        format!("({})", texts.join(op))
    }

    fn conds(&mut self, t: &Target, conds: &[Cond]) -> String {
        if conds.is_empty() {
            return "1".into();
        }
        let texts: Vec<String> = conds.iter().map(|c| self.cond(t, c)).collect();
        format!("({})", texts.join(" AND "))
    }

    /// `COALESCE(x, 0)`: a definite truth value, so `NOT` of a missing field is true, as in MongoDB. Only negations
    /// use it, so that positive conditions stay plain comparisons an index can serve.
    fn definite(x: String) -> String {
        format!("COALESCE({x}, 0)")
    }

    fn cond(&mut self, t: &Target, c: &Cond) -> String {
        match c {
            Cond::Eq(v) => self.eq(t, v),
            Cond::Ne(v) => format!("NOT {}", Self::definite(self.eq(t, v))),
            Cond::Gt(v) => self.cmp(t, ">", v),
            Cond::Gte(v) => self.cmp(t, ">=", v),
            Cond::Lt(v) => self.cmp(t, "<", v),
            Cond::Lte(v) => self.cmp(t, "<=", v),
            Cond::In(vs) => self.any_eq(t, vs),
            Cond::Nin(vs) => format!("NOT {}", Self::definite(self.any_eq(t, vs))),
            Cond::Exists(true) => format!("({} IS NOT NULL)", t.ty),
            Cond::Exists(false) => format!("({} IS NULL)", t.ty),
            Cond::Regex(pattern) => {
                let p = self.bind(Param::Text(pattern.clone()));
                format!(
                    "(CASE WHEN {ty} = 'text' THEN COALESCE({v} REGEXP {p}, 0) ELSE 0 END)",
                    ty = t.ty,
                    v = t.value
                )
            }
            Cond::Not(conds) => format!("NOT {}", Self::definite(self.conds(t, conds))),
            Cond::Size(n) => {
                let p = self.bind(Param::Int(i64::try_from(*n).unwrap_or(i64::MAX)));
                format!(
                    "({ty} = 'array' AND json_array_length({j}, {path}) = {p})",
                    ty = t.ty,
                    j = t.json,
                    path = t.path
                )
            }
            Cond::All(vs) => {
                if vs.is_empty() {
                    return "0".into();
                }
                let parts: Vec<String> = vs
                    .iter()
                    .map(|v| {
                        let (alias, from) = self.each(t);
                        let inner = self.eq(&Target::element(&alias, None), v);
                        format!("EXISTS (SELECT 1 FROM {from} WHERE {inner})")
                    })
                    .collect();
                format!("({} = 'array' AND {})", t.ty, parts.join(" AND "))
            }
            Cond::ElemMatch(m) => {
                let (alias, from) = self.each(t);
                let inner = match m {
                    ElemMatch::Doc(sel) => self.sel(sel, Some(&alias)),
                    ElemMatch::Value(conds) => self.conds(&Target::element(&alias, None), conds),
                };
                format!(
                    "({} = 'array' AND EXISTS (SELECT 1 FROM {from} WHERE {inner}))",
                    t.ty
                )
            }
        }
    }

    /// A fresh alias and the `json_each` over the array at `t`.
    fn each(&mut self, t: &Target) -> (String, String) {
        self.aliases += 1;
        let alias = format!("e{}", self.aliases);
        let from = format!("json_each({}, {}) AS {alias}", t.json, t.path);
        (alias, from)
    }

    fn number(&mut self, n: &serde_json::Number) -> &'static str {
        match n.as_i64() {
            Some(i) => self.bind(Param::Int(i)),
            None => self.bind(Param::Real(n.as_f64().unwrap_or(f64::NAN))),
        }
    }

    /// Type-aware equality.
    fn eq(&mut self, t: &Target, v: &Value) -> String {
        let (value, ty) = (&t.value, &t.ty);
        match v {
            Value::Null => format!("(COALESCE({ty}, 'null') = 'null')"),
            Value::Bool(true) => format!("({ty} = 'true')"),
            Value::Bool(false) => format!("({ty} = 'false')"),
            Value::Number(n) => {
                let p = self.number(n);
                format!("({value} = {p} AND {ty} IN ('integer','real'))")
            }
            Value::String(s) => {
                let p = self.bind(Param::Text(s.clone()));
                format!("({value} = {p} AND {ty} = 'text')")
            }
            Value::Array(_) | Value::Object(_) => {
                let kind = if v.is_array() { "array" } else { "object" };
                let p = self.bind(Param::Text(v.to_string()));
                format!("({ty} = '{kind}' AND {value} = json({p}))")
            }
        }
    }

    fn any_eq(&mut self, t: &Target, vs: &[Value]) -> String {
        if vs.is_empty() {
            return "0".into();
        }
        let parts: Vec<String> = vs.iter().map(|v| self.eq(t, v)).collect();
        format!("({})", parts.join(" OR "))
    }

    /// Type-aware ordering comparison: numbers with numbers, strings with strings, booleans with booleans.
    fn cmp(&mut self, t: &Target, op: &str, v: &Value) -> String {
        let (value, ty) = (&t.value, &t.ty);
        match v {
            Value::Null if op.ends_with('=') => format!("(COALESCE({ty}, 'null') = 'null')"),
            Value::Null => "0".into(),
            Value::Bool(b) => {
                let p = self.bind(Param::Int(i64::from(*b)));
                format!("({value} {op} {p} AND {ty} IN ('true','false'))")
            }
            Value::Number(n) => {
                let p = self.number(n);
                format!("({value} {op} {p} AND {ty} IN ('integer','real'))")
            }
            Value::String(s) => {
                let p = self.bind(Param::Text(s.clone()));
                format!("({value} {op} {p} AND {ty} = 'text')")
            }
            // Rejected by the parser; kept total.
            Value::Array(_) | Value::Object(_) => "0".into(),
        }
    }
}

/// `ORDER BY` terms for a sort (empty when there is none).
pub fn order_by(sort: &[SortKey]) -> String {
    if sort.is_empty() {
        return String::new();
    }
    let terms: Vec<String> = sort
        .iter()
        .map(|k| {
            let dir = match k.dir {
                SortDir::Asc => "ASC",
                SortDir::Desc => "DESC",
            };
            format!("{} {dir}", extract_expr(&k.path))
        })
        .collect();
    format!(" ORDER BY {}", terms.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::mango::parse_selector;
    use serde_json::json;

    #[test]
    fn values_are_bound_never_written() {
        let s = parse_selector(&json!({"name": "x' OR 1=1 --", "n": {"$gt": 5}})).unwrap();
        let sql = Compiler::default().selector(&s);
        assert!(!sql.text.contains("OR 1=1"), "{}", sql.text);
        assert_eq!(
            sql.params,
            vec![Param::Text("x' OR 1=1 --".into()), Param::Int(5)]
        );
        assert!(
            sql.text.contains("json_extract(doc, '$.\"n\"') > ?"),
            "{}",
            sql.text
        );
    }

    #[test]
    fn paths_are_quoted_segments() {
        let p = FieldPath::parse("a.b c").unwrap();
        assert_eq!(json_path(&p), "'$.\"a\".\"b c\"'");
    }

    #[test]
    fn empty_selector_is_true_and_sort_terms() {
        let sql = Compiler::default().selector(&Selector::And(vec![]));
        assert_eq!(sql.text, "1");
        let sort = crate::core::mango::parse_sort(&json!([{"t": "DESC"}, {"u": "ASC"}])).unwrap();
        assert_eq!(
            order_by(&sort),
            " ORDER BY json_extract(doc, '$.\"t\"') DESC, json_extract(doc, '$.\"u\"') ASC"
        );
    }
}
