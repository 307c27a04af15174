//! Compiles a Mango selector and sort to PostgreSQL SQL over JSONB, with every value bound as a parameter. Field
//! paths are the only text written into the SQL, as `doc #> '{...}'` literals, so that the expression a query
//! compares and sorts on is the very expression an index was built on. Types are checked with `jsonb_typeof`.

use crate::core::mango::{Cond, ElemMatch, FieldPath, Selector, SortDir, SortKey};
use serde_json::Value;

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Json(Value),
    Int(i64),
    Text(String),
}

/// SQL text and the parameters for its placeholders, in order (numbered from `first`).
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// The text-array literal of a path: `'{"a","b c"}'`.
fn path_literal(path: &FieldPath) -> String {
    let segs: Vec<String> = path
        .segments()
        .iter()
        .map(|s| {
            let quoted = s.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{}\"", quoted.replace('\'', "''"))
        })
        .collect();
    format!("'{{{}}}'", segs.join(","))
}

/// The expression an index on `path` is built on, and that queries and sorts use.
pub fn extract_expr(path: &FieldPath) -> String {
    format!("(doc #> {})", path_literal(path))
}

/// Compiles selectors; placeholders continue after the `first - 1` the caller binds itself.
pub struct Compiler {
    params: Vec<Param>,
    first: usize,
    aliases: usize,
}

impl Compiler {
    pub fn new(first: usize) -> Self {
        Self {
            params: Vec::new(),
            first,
            aliases: 0,
        }
    }

    /// The SQL boolean expression for `selector` over the column `doc` (NULL counts as false).
    pub fn selector(mut self, selector: &Selector) -> Sql {
        let text = self.sel(selector, None);
        Sql {
            text,
            params: self.params,
        }
    }

    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.first + self.params.len() - 1)
    }

    fn sel(&mut self, s: &Selector, element: Option<&str>) -> String {
        match s {
            Selector::And(parts) if parts.is_empty() => "TRUE".into(),
            Selector::And(parts) => self.join(parts, " AND ", element),
            Selector::Or(parts) => self.join(parts, " OR ", element),
            Selector::Nor(parts) => {
                format!("NOT {}", definite(self.join(parts, " OR ", element)))
            }
            Selector::Field(path, conds) => {
                let target = match element {
                    None => extract_expr(path),
                    Some(alias) => format!("({alias}.value #> {})", path_literal(path)),
                };
                self.conds(&target, conds)
            }
        }
    }

    fn join(&mut self, parts: &[Selector], op: &str, element: Option<&str>) -> String {
        let texts: Vec<String> = parts.iter().map(|p| self.sel(p, element)).collect();
        format!("({})", texts.join(op))
    }

    fn conds(&mut self, t: &str, conds: &[Cond]) -> String {
        if conds.is_empty() {
            return "TRUE".into();
        }
        let texts: Vec<String> = conds.iter().map(|c| self.cond(t, c)).collect();
        format!("({})", texts.join(" AND "))
    }

    fn cond(&mut self, t: &str, c: &Cond) -> String {
        match c {
            Cond::Eq(v) => self.eq(t, v),
            Cond::Ne(v) => format!("NOT {}", definite(self.eq(t, v))),
            Cond::Gt(v) => self.cmp(t, ">", v),
            Cond::Gte(v) => self.cmp(t, ">=", v),
            Cond::Lt(v) => self.cmp(t, "<", v),
            Cond::Lte(v) => self.cmp(t, "<=", v),
            Cond::In(vs) => self.any_eq(t, vs),
            Cond::Nin(vs) => format!("NOT {}", definite(self.any_eq(t, vs))),
            Cond::Exists(true) => format!("({t} IS NOT NULL)"),
            Cond::Exists(false) => format!("({t} IS NULL)"),
            Cond::Regex(pattern) => {
                let p = self.bind(Param::Text(pattern.clone()));
                format!("(jsonb_typeof({t}) = 'string' AND ({t} #>> '{{}}') ~ {p})")
            }
            Cond::Not(conds) => format!("NOT {}", definite(self.conds(t, conds))),
            Cond::Size(n) => {
                let p = self.bind(Param::Int(i64::try_from(*n).unwrap_or(i64::MAX)));
                format!("(jsonb_typeof({t}) = 'array' AND jsonb_array_length({t}) = {p})")
            }
            Cond::All(vs) => {
                if vs.is_empty() {
                    return "FALSE".into();
                }
                let parts: Vec<String> = vs
                    .iter()
                    .map(|v| {
                        let (alias, from) = self.each(t);
                        let inner = self.eq(&format!("{alias}.value"), v);
                        format!("EXISTS (SELECT 1 FROM {from} WHERE {inner})")
                    })
                    .collect();
                format!("(jsonb_typeof({t}) = 'array' AND {})", parts.join(" AND "))
            }
            Cond::ElemMatch(m) => {
                let (alias, from) = self.each(t);
                let inner = match m {
                    ElemMatch::Doc(sel) => self.sel(sel, Some(&alias)),
                    ElemMatch::Value(conds) => self.conds(&format!("{alias}.value"), conds),
                };
                format!(
                    "(jsonb_typeof({t}) = 'array' AND EXISTS (SELECT 1 FROM {from} WHERE {inner}))"
                )
            }
        }
    }

    /// A fresh alias and the element set of the array at `t` (only called once `t` is known to be an array).
    fn each(&mut self, t: &str) -> (String, String) {
        self.aliases += 1;
        let alias = format!("e{}", self.aliases);
        let from = format!(
            "jsonb_array_elements(CASE WHEN jsonb_typeof({t}) = 'array' THEN {t} ELSE '[]'::jsonb END) AS {alias}(value)"
        );
        (alias, from)
    }

    /// Type-aware equality: JSONB equality is already typed (`5` never equals `"5"`).
    fn eq(&mut self, t: &str, v: &Value) -> String {
        match v {
            Value::Null => format!("(COALESCE(jsonb_typeof({t}), 'null') = 'null')"),
            _ => {
                let p = self.bind(Param::Json(v.clone()));
                format!("({t} = {p})")
            }
        }
    }

    fn any_eq(&mut self, t: &str, vs: &[Value]) -> String {
        if vs.is_empty() {
            return "FALSE".into();
        }
        let parts: Vec<String> = vs.iter().map(|v| self.eq(t, v)).collect();
        format!("({})", parts.join(" OR "))
    }

    /// Type-aware ordering: numbers with numbers, strings with strings, booleans with booleans.
    fn cmp(&mut self, t: &str, op: &str, v: &Value) -> String {
        let ty = match v {
            Value::Null if op.ends_with('=') => {
                return format!("(COALESCE(jsonb_typeof({t}), 'null') = 'null')")
            }
            Value::Null | Value::Array(_) | Value::Object(_) => return "FALSE".into(),
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
        };
        let p = self.bind(Param::Json(v.clone()));
        format!("({t} {op} {p} AND jsonb_typeof({t}) = '{ty}')")
    }
}

/// `COALESCE(x, FALSE)`: a definite truth value, so `NOT` of a missing field is true, as in MongoDB.
fn definite(x: String) -> String {
    format!("COALESCE({x}, FALSE)")
}

/// `ORDER BY` terms for a sort (empty when there is none). Missing fields sort first ascending, as in SQLite.
pub fn order_by(sort: &[SortKey]) -> String {
    if sort.is_empty() {
        return String::new();
    }
    let terms: Vec<String> = sort
        .iter()
        .map(|k| {
            let dir = match k.dir {
                SortDir::Asc => "ASC NULLS FIRST",
                SortDir::Desc => "DESC NULLS LAST",
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
        let sql = Compiler::new(3).selector(&s);
        assert!(!sql.text.contains("OR 1=1"), "{}", sql.text);
        assert_eq!(
            sql.params,
            vec![Param::Json(json!("x' OR 1=1 --")), Param::Json(json!(5))]
        );
        assert!(sql.text.contains("(doc #> '{\"n\"}') > $4"), "{}", sql.text);
    }

    #[test]
    fn paths_quote_segments() {
        let p = FieldPath::parse("a.b c").unwrap();
        assert_eq!(extract_expr(&p), "(doc #> '{\"a\",\"b c\"}')");
    }
}
