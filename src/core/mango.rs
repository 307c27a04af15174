//! The Mango query model of the data service: selector AST, sort, projection and paging, parsed from JSON. Pure.

use serde_json::{Map, Value};
use std::fmt;
use thiserror::Error;

/// The default `limit` of a `_query` (hyper's MongoDB adapter uses 25).
pub const DEFAULT_QUERY_LIMIT: u64 = 25;

/// Why a query, sort or index definition was rejected. Each message names the operator or field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MangoError {
    /// An operator nano does not know (`$where`, `$text`, a typo): never silently ignored.
    #[error("unknown operator {0}")]
    UnknownOperator(String),
    /// A well-typed argument that breaks a rule of the query language (400).
    #[error("{0}")]
    Invalid(String),
    /// An argument of the wrong type, in hyper's zod wording (422).
    #[error("Invalid Arguments '{field}': {msg}")]
    Arguments { field: String, msg: String },
    /// A value that matches neither form of a union (`sort`, index `fields`), in hyper's wording (400).
    #[error("Invalid Union '{field}': {msg}")]
    Union { field: String, msg: String },
}

impl crate::core::HasKind for MangoError {
    fn kind(&self) -> crate::core::ErrorKind {
        match self {
            MangoError::Arguments { .. } => crate::core::ErrorKind::Invalid,
            _ => crate::core::ErrorKind::Malformed,
        }
    }
}

fn invalid(msg: impl Into<String>) -> MangoError {
    MangoError::Invalid(msg.into())
}

fn arguments(field: &str, msg: impl Into<String>) -> MangoError {
    MangoError::Arguments {
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// A dotted field path (`address.city`), split into segments. Segments are non-empty, do not start with `$`,
/// and contain no `"`, `\`, `'` or control characters, so they can be written into a JSON path literal safely.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    pub fn parse(s: &str) -> Result<Self, MangoError> {
        let segments: Vec<String> = s.split('.').map(str::to_string).collect();
        for seg in &segments {
            if seg.is_empty() {
                return Err(invalid(format!("field '{s}' has an empty path segment")));
            }
            if seg.starts_with('$') {
                return Err(invalid(format!(
                    "field '{s}' must not start a segment with '$'"
                )));
            }
            if seg
                .chars()
                .any(|c| c == '"' || c == '\\' || c == '\'' || c.is_control())
            {
                return Err(invalid(format!(
                    "field '{s}' contains a quote, backslash or control character"
                )));
            }
        }
        Ok(Self(segments))
    }

    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The value at this path in `doc`, following objects only.
    pub fn lookup<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(doc, |v, seg| v.get(seg.as_str()))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// A selector: a tree of logical operators over field conditions. `And(vec![])` matches every document.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    And(Vec<Selector>),
    Or(Vec<Selector>),
    Nor(Vec<Selector>),
    /// Every condition holds for the value at the path.
    Field(FieldPath, Vec<Cond>),
}

/// A condition on one value. Comparisons are type-aware (a number never equals or orders against a string).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq(Value),
    Ne(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Exists(bool),
    /// A regular expression (Rust `regex` syntax) with Mongo's `$options` (`i`, `m`, `s`, `x`) folded in as flags.
    Regex(String),
    /// `$not`: none of the conditions all hold.
    Not(Vec<Cond>),
    /// The value is an array with an element matching this.
    ElemMatch(ElemMatch),
    /// The value is an array containing every one of these values.
    All(Vec<Value>),
    /// The value is an array of this length.
    Size(u64),
}

/// What `$elemMatch` asks of an element: a selector on its fields, or conditions on the element itself.
#[derive(Debug, Clone, PartialEq)]
pub enum ElemMatch {
    Doc(Box<Selector>),
    Value(Vec<Cond>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// One key of a sort or an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub path: FieldPath,
    pub dir: SortDir,
}

/// A parsed `_query` body.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub selector: Selector,
    /// The projection; `None` returns whole documents.
    pub fields: Option<Vec<FieldPath>>,
    pub sort: Vec<SortKey>,
    /// `None` means no limit (`limit: 0`, as in MongoDB); absent is [`DEFAULT_QUERY_LIMIT`].
    pub limit: Option<u64>,
    pub skip: u64,
    /// Accepted and recorded; the store's planner picks indexes itself.
    pub use_index: Option<String>,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            selector: Selector::And(Vec::new()),
            fields: None,
            sort: Vec::new(),
            limit: Some(DEFAULT_QUERY_LIMIT),
            skip: 0,
            use_index: None,
        }
    }
}

/// zod's name for a JSON value's type, for "Expected object, received <type>".
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses a `_query` body. Unknown top-level keys are ignored, as hyper's zod schema strips them.
pub fn parse_query(body: &Value) -> Result<Query, MangoError> {
    let Value::Object(obj) = body else {
        return Err(arguments(
            "query",
            format!("Expected object, received {}.", type_name(body)),
        ));
    };
    let mut q = Query::default();
    if let Some(sel) = obj.get("selector").filter(|v| !v.is_null()) {
        q.selector = parse_selector(sel)?;
    }
    if let Some(fields) = obj.get("fields").filter(|v| !v.is_null()) {
        let Value::Array(items) = fields else {
            return Err(arguments(
                "fields",
                format!("Expected array, received {}.", type_name(fields)),
            ));
        };
        let paths = items
            .iter()
            .map(|f| match f {
                Value::String(s) => FieldPath::parse(s),
                other => Err(arguments(
                    "fields",
                    format!("Expected string, received {}.", type_name(other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        q.fields = Some(paths);
    }
    if let Some(sort) = obj.get("sort").filter(|v| !v.is_null()) {
        q.sort = parse_sort_keys("sort", sort)?;
    }
    if let Some(limit) = obj.get("limit").filter(|v| !v.is_null()) {
        let n = parse_count("limit", limit)?;
        q.limit = (n > 0).then_some(n);
    }
    if let Some(skip) = obj.get("skip").filter(|v| !v.is_null()) {
        q.skip = parse_count("skip", skip)?;
    }
    if let Some(ix) = obj.get("use_index").filter(|v| !v.is_null()) {
        match ix {
            Value::String(s) => q.use_index = Some(s.clone()),
            other => {
                return Err(arguments(
                    "use_index",
                    format!("Expected string, received {}.", type_name(other)),
                ))
            }
        }
    }
    Ok(q)
}

/// JavaScript's `parseFloat`: the longest numeric prefix after leading whitespace, or `None` (NaN).
pub fn parse_float_prefix(s: &str) -> Option<f64> {
    let t = s.trim_start();
    let mut end = 0;
    let mut best = None;
    for (i, c) in t.char_indices() {
        end = i + c.len_utf8();
        if !(c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E')) {
            break;
        }
        if let Ok(v) = t[..end].parse::<f64>() {
            best = Some(v);
        }
    }
    let _ = end;
    if best.is_none() && t.starts_with("Infinity") {
        return Some(f64::INFINITY);
    }
    best
}

/// A `limit`/`skip`: a non-negative number or numeric string (hyper coerces with `parseFloat`).
pub fn parse_count(field: &str, v: &Value) -> Result<u64, MangoError> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_float_prefix(s),
        other => {
            return Err(arguments(
                field,
                format!("Expected number, received {}.", type_name(other)),
            ))
        }
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n.floor() as u64),
        Some(n) if n.is_infinite() && n > 0.0 => Ok(u64::MAX),
        Some(_) => Err(arguments(
            field,
            "Number must be greater than or equal to 0.",
        )),
        None => Err(arguments(field, "Expected number, received nan.")),
    }
}

/// A query `sort`: `["a", "b"]` (ascending) or `[{"a": "ASC"}, {"b": "DESC"}]`; mixing the forms is a union error.
pub fn parse_sort(v: &Value) -> Result<Vec<SortKey>, MangoError> {
    parse_sort_keys("sort", v)
}

/// An index's `fields`, in the same two forms as a sort.
pub fn parse_index_fields(v: &Value) -> Result<Vec<SortKey>, MangoError> {
    let keys = parse_sort_keys("fields", v)?;
    if keys.is_empty() {
        return Err(invalid("index fields must name at least one field"));
    }
    Ok(keys)
}

fn parse_sort_keys(field: &str, v: &Value) -> Result<Vec<SortKey>, MangoError> {
    let union = |msg: String| MangoError::Union {
        field: field.to_string(),
        msg,
    };
    let Value::Array(items) = v else {
        return Err(union(format!(
            "Expected array of strings or array of {{ field: 'ASC' | 'DESC' }}, received {}.",
            type_name(v)
        )));
    };
    let strings = items.iter().all(Value::is_string);
    let objects = items.iter().all(Value::is_object);
    if !strings && !objects {
        return Err(union(
            "Expected all strings or all { field: 'ASC' | 'DESC' } objects, received a mix.".into(),
        ));
    }
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) => keys.push(SortKey {
                path: FieldPath::parse(s)?,
                dir: SortDir::Asc,
            }),
            Value::Object(o) => {
                if o.len() != 1 {
                    return Err(union(format!(
                        "Expected one field per sort object, received {} keys.",
                        o.len()
                    )));
                }
                let (name, dir) = o.iter().next().expect("one key");
                let dir = match dir.as_str() {
                    Some("ASC") => SortDir::Asc,
                    Some("DESC") => SortDir::Desc,
                    _ => {
                        return Err(union(format!(
                        "Invalid enum value for '{name}'. Expected 'ASC' | 'DESC', received {dir}."
                    )))
                    }
                };
                keys.push(SortKey {
                    path: FieldPath::parse(name)?,
                    dir,
                });
            }
            _ => unreachable!("checked above"),
        }
    }
    Ok(keys)
}

/// Parses a selector object.
pub fn parse_selector(v: &Value) -> Result<Selector, MangoError> {
    check_selector_size(v)?;
    selector(v)
}

/// The most JSON values (operators, fields and operands alike) a selector may hold, and its deepest nesting: a
/// selector is compiled to one SQL statement whose bound values and expression depth the databases cap.
pub const MAX_SELECTOR_VALUES: usize = 5_000;
pub const MAX_SELECTOR_DEPTH: usize = 32;

/// Refuses (400) a selector past [`MAX_SELECTOR_VALUES`] values or [`MAX_SELECTOR_DEPTH`] levels of nesting.
fn check_selector_size(v: &Value) -> Result<(), MangoError> {
    fn walk(v: &Value, depth: usize, count: &mut usize) -> Result<(), MangoError> {
        *count += 1;
        if *count > MAX_SELECTOR_VALUES {
            return Err(invalid(format!(
                "selector is too large: at most {MAX_SELECTOR_VALUES} values"
            )));
        }
        if depth > MAX_SELECTOR_DEPTH {
            return Err(invalid(format!(
                "selector is nested too deeply: at most {MAX_SELECTOR_DEPTH} levels"
            )));
        }
        match v {
            Value::Array(items) => items.iter().try_for_each(|i| walk(i, depth + 1, count)),
            Value::Object(m) => m.values().try_for_each(|i| walk(i, depth + 1, count)),
            _ => Ok(()),
        }
    }
    walk(v, 0, &mut 0)
}

fn selector(v: &Value) -> Result<Selector, MangoError> {
    let Value::Object(obj) = v else {
        return Err(arguments(
            "selector",
            format!("Expected object, received {}.", type_name(v)),
        ));
    };
    let mut parts = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        parts.push(match key.as_str() {
            "$and" => Selector::And(parse_selector_list(key, value)?),
            "$or" => Selector::Or(parse_selector_list(key, value)?),
            "$nor" => Selector::Nor(parse_selector_list(key, value)?),
            op if op.starts_with('$') => return Err(MangoError::UnknownOperator(op.to_string())),
            field => Selector::Field(FieldPath::parse(field)?, parse_conditions(value)?),
        });
    }
    Ok(if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        Selector::And(parts)
    })
}

fn parse_selector_list(op: &str, v: &Value) -> Result<Vec<Selector>, MangoError> {
    match v {
        Value::Array(items) if !items.is_empty() => items.iter().map(selector).collect(),
        _ => Err(invalid(format!(
            "{op} must be a nonempty array of selectors"
        ))),
    }
}

fn is_operator_object(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Object(o) if o.keys().next().is_some_and(|k| k.starts_with('$')) => Some(o),
        _ => None,
    }
}

/// The conditions a field's value must meet: an operator object, or implicit equality with anything else.
fn parse_conditions(v: &Value) -> Result<Vec<Cond>, MangoError> {
    let Some(ops) = is_operator_object(v) else {
        return Ok(vec![Cond::Eq(v.clone())]);
    };
    parse_operator_object(ops)
}

fn parse_operator_object(ops: &Map<String, Value>) -> Result<Vec<Cond>, MangoError> {
    let mut conds = Vec::with_capacity(ops.len());
    let options = match ops.get("$options") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(invalid(format!(
                "$options must be a string, received {}",
                type_name(other)
            )))
        }
    };
    if options.is_some() && !ops.contains_key("$regex") {
        return Err(invalid("$options needs a $regex"));
    }
    for (op, arg) in ops {
        let cond = match op.as_str() {
            "$eq" => Cond::Eq(arg.clone()),
            "$ne" => Cond::Ne(arg.clone()),
            "$gt" => Cond::Gt(comparable(op, arg)?),
            "$gte" => Cond::Gte(comparable(op, arg)?),
            "$lt" => Cond::Lt(comparable(op, arg)?),
            "$lte" => Cond::Lte(comparable(op, arg)?),
            "$in" => Cond::In(value_list(op, arg)?),
            "$nin" => Cond::Nin(value_list(op, arg)?),
            "$all" => Cond::All(value_list(op, arg)?),
            "$exists" => Cond::Exists(truthy(arg)),
            "$size" => match arg.as_u64() {
                Some(n) => Cond::Size(n),
                None => {
                    return Err(invalid(format!(
                        "$size needs a non-negative integer, received {arg}"
                    )))
                }
            },
            "$regex" => Cond::Regex(regex_pattern(arg, options)?),
            "$options" => continue,
            "$not" => match is_operator_object(arg) {
                Some(inner) => Cond::Not(parse_operator_object(inner)?),
                None => {
                    return Err(invalid(
                        "$not needs an operator object such as {\"$gt\": 1}",
                    ))
                }
            },
            "$elemMatch" => {
                let Value::Object(inner) = arg else {
                    return Err(invalid(format!(
                        "$elemMatch needs an object, received {}",
                        type_name(arg)
                    )));
                };
                let value_ops = inner.keys().next().is_some_and(|k| {
                    k.starts_with('$') && !matches!(k.as_str(), "$and" | "$or" | "$nor")
                });
                if value_ops {
                    Cond::ElemMatch(ElemMatch::Value(parse_operator_object(inner)?))
                } else {
                    Cond::ElemMatch(ElemMatch::Doc(Box::new(selector(arg)?)))
                }
            }
            other => return Err(MangoError::UnknownOperator(other.to_string())),
        };
        conds.push(cond);
    }
    Ok(conds)
}

fn comparable(op: &str, v: &Value) -> Result<Value, MangoError> {
    match v {
        Value::Object(_) | Value::Array(_) => Err(invalid(format!(
            "{op} compares numbers, strings, booleans or null, received {}",
            type_name(v)
        ))),
        other => Ok(other.clone()),
    }
}

fn value_list(op: &str, v: &Value) -> Result<Vec<Value>, MangoError> {
    match v {
        Value::Array(items) => Ok(items.clone()),
        other => Err(invalid(format!(
            "{op} needs an array, received {}",
            type_name(other)
        ))),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn regex_pattern(arg: &Value, options: Option<&str>) -> Result<String, MangoError> {
    let Value::String(pattern) = arg else {
        return Err(invalid(format!(
            "$regex needs a string, received {}",
            type_name(arg)
        )));
    };
    let mut flags = String::new();
    for c in options.unwrap_or_default().chars() {
        match c {
            'i' | 'm' | 's' | 'x' => {
                if !flags.contains(c) {
                    flags.push(c)
                }
            }
            other => {
                return Err(invalid(format!(
                    "$options has an unsupported flag '{other}'"
                )))
            }
        }
    }
    let full = if flags.is_empty() {
        pattern.clone()
    } else {
        format!("(?{flags}){pattern}")
    };
    regex::Regex::new(&full).map_err(|e| invalid(format!("$regex is not valid: {e}")))?;
    Ok(full)
}

/// Keeps only `fields` of `doc` (nested paths keep their parents). `_id` is kept only when listed, as hyper's
/// MongoDB adapter does.
pub fn project(doc: &Value, fields: &[FieldPath]) -> Value {
    let mut out = Value::Object(Map::new());
    for field in fields {
        if let Some(v) = field.lookup(doc) {
            let mut at = &mut out;
            let segs = field.segments();
            for seg in &segs[..segs.len() - 1] {
                let obj = at.as_object_mut().expect("built as objects");
                at = obj
                    .entry(seg.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !at.is_object() {
                    *at = Value::Object(Map::new());
                }
            }
            at.as_object_mut()
                .expect("built as objects")
                .insert(segs[segs.len() - 1].clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    #[test]
    fn implicit_equality_and_operators() {
        let s =
            parse_selector(&json!({"type": "movie", "year": {"$gte": 1990, "$lt": 2000}})).unwrap();
        assert_eq!(
            s,
            Selector::And(vec![
                Selector::Field(path("type"), vec![Cond::Eq(json!("movie"))]),
                Selector::Field(
                    path("year"),
                    vec![Cond::Gte(json!(1990)), Cond::Lt(json!(2000))]
                ),
            ])
        );
    }

    #[test]
    fn object_values_without_operators_are_equality() {
        let s = parse_selector(&json!({"a": {"b": 1}})).unwrap();
        assert_eq!(
            s,
            Selector::Field(path("a"), vec![Cond::Eq(json!({"b": 1}))])
        );
    }

    #[test]
    fn logical_operators_and_nested_paths() {
        let s =
            parse_selector(&json!({"$or": [{"a.b": 1}, {"$nor": [{"c": {"$exists": false}}]}]}))
                .unwrap();
        let Selector::Or(parts) = s else { panic!() };
        assert_eq!(
            parts[0],
            Selector::Field(path("a.b"), vec![Cond::Eq(json!(1))])
        );
        assert_eq!(
            parts[1],
            Selector::Nor(vec![Selector::Field(path("c"), vec![Cond::Exists(false)])])
        );
    }

    #[test]
    fn every_supported_operator_parses() {
        let s = json!({
            "a": {"$eq": 1, "$ne": 2, "$gt": 0, "$gte": 0, "$lt": 9, "$lte": 9, "$in": [1], "$nin": [3]},
            "b": {"$exists": true, "$regex": "^x", "$options": "i"},
            "c": {"$not": {"$gt": 5}},
            "d": {"$elemMatch": {"$gte": 80}},
            "e": {"$elemMatch": {"x": 1}},
            "f": {"$all": [1, 2], "$size": 2},
            "$and": [{"g": 1}]
        });
        let Selector::And(parts) = parse_selector(&s).unwrap() else {
            panic!()
        };
        assert_eq!(parts.len(), 7);
        assert_eq!(
            parts[1],
            Selector::Field(
                path("b"),
                vec![Cond::Exists(true), Cond::Regex("(?i)^x".into())]
            )
        );
        assert!(
            matches!(&parts[3], Selector::Field(_, c) if matches!(c[0], Cond::ElemMatch(ElemMatch::Value(_))))
        );
        assert!(
            matches!(&parts[4], Selector::Field(_, c) if matches!(c[0], Cond::ElemMatch(ElemMatch::Doc(_))))
        );
    }

    #[test]
    fn unknown_operators_are_named() {
        for (sel, op) in [
            (json!({"$where": "1"}), "$where"),
            (json!({"a": {"$foo": 1}}), "$foo"),
            (json!({"a": {"$gt": 1, "$bogus": 1}}), "$bogus"),
            (json!({"a": {"$elemMatch": {"$nope": 1}}}), "$nope"),
            (json!({"a": {"$not": {"$xx": 1}}}), "$xx"),
        ] {
            let err = parse_selector(&sel).unwrap_err();
            assert_eq!(err, MangoError::UnknownOperator(op.into()));
            assert!(err.to_string().contains(op));
        }
    }

    #[test]
    fn bad_selectors_are_rejected() {
        for bad in [
            json!({"$and": []}),
            json!({"$or": {}}),
            json!({"a": {"$in": 1}}),
            json!({"a": {"$size": -1}}),
            json!({"a": {"$regex": "("}}),
            json!({"a": {"$regex": "x", "$options": "q"}}),
            json!({"a": {"$options": "i"}}),
            json!({"a": {"$not": 5}}),
            json!({"a": {"$gt": {"x": 1}}}),
            json!({"a..b": 1}),
            json!({"a\"b": 1}),
            json!({"a.$b": 1}),
        ] {
            assert!(parse_selector(&bad).is_err(), "{bad} should be rejected");
        }
        assert!(matches!(
            parse_selector(&json!([1])),
            Err(MangoError::Arguments { .. })
        ));
    }

    #[test]
    fn sort_forms_and_mixing() {
        let keys = parse_sort(&json!(["a", "b.c"])).unwrap();
        assert_eq!(keys[1].path, path("b.c"));
        assert_eq!(keys[0].dir, SortDir::Asc);
        let keys = parse_sort(&json!([{"title": "DESC"}])).unwrap();
        assert_eq!(keys[0].dir, SortDir::Desc);
        let err = parse_sort(&json!(["a", {"b": "ASC"}])).unwrap_err();
        assert!(err.to_string().starts_with("Invalid Union 'sort'"), "{err}");
        assert!(parse_sort(&json!([{"a": "UP"}])).is_err());
        assert!(parse_sort(&json!("a")).is_err());
        let err = parse_index_fields(&json!([{"a": "ASC"}, "b"])).unwrap_err();
        assert!(
            err.to_string().starts_with("Invalid Union 'fields'"),
            "{err}"
        );
        assert!(parse_index_fields(&json!([])).is_err());
    }

    #[test]
    fn query_defaults_limits_and_skip() {
        let q = parse_query(&json!({})).unwrap();
        assert_eq!(q.limit, Some(25));
        assert_eq!(q.selector, Selector::And(vec![]));
        let q =
            parse_query(&json!({"limit": "2", "skip": 3, "use_index": "ix", "fields": ["_id"]}))
                .unwrap();
        assert_eq!((q.limit, q.skip), (Some(2), 3));
        assert_eq!(q.use_index.as_deref(), Some("ix"));
        assert_eq!(parse_query(&json!({"limit": 0})).unwrap().limit, None);
        assert_eq!(
            parse_query(&json!({"limit": " 7 "})).unwrap().limit,
            Some(7)
        );
        for bad in [
            json!({"limit": "abc"}),
            json!({"limit": true}),
            json!({"limit": -1}),
            json!({"skip": []}),
            json!({"fields": "a"}),
            json!({"fields": [1]}),
            json!({"use_index": 1}),
            json!({"selector": "x"}),
        ] {
            assert!(
                matches!(parse_query(&bad), Err(MangoError::Arguments { .. })),
                "{bad}"
            );
        }
        // A bare selector without `selector` is stripped, as hyper does.
        assert_eq!(
            parse_query(&json!({"type": "x"})).unwrap().selector,
            Selector::And(vec![])
        );
    }

    #[test]
    fn parse_float_like_javascript() {
        assert_eq!(parse_float_prefix(" 456 "), Some(456.0));
        assert_eq!(parse_float_prefix("12abc"), Some(12.0));
        assert_eq!(parse_float_prefix("1.5"), Some(1.5));
        assert_eq!(parse_float_prefix("abc"), None);
        assert_eq!(parse_float_prefix(""), None);
    }

    #[test]
    fn projection_keeps_listed_paths_only() {
        let doc = json!({"_id": "1", "band": "x", "a": {"b": 1, "c": 2}, "z": 0});
        let p = project(
            &doc,
            &[path("_id"), path("band"), path("a.b"), path("missing")],
        );
        assert_eq!(p, json!({"_id": "1", "band": "x", "a": {"b": 1}}));
        assert_eq!(project(&doc, &[path("band")]), json!({"band": "x"}));
    }

    #[test]
    fn oversized_selectors_are_refused() {
        let wide: Vec<Value> = (0..MAX_SELECTOR_VALUES)
            .map(|i| json!({ "a": i }))
            .collect();
        let err = parse_selector(&json!({ "$or": wide })).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        let mut deep = json!({ "a": 1 });
        for _ in 0..MAX_SELECTOR_DEPTH {
            deep = json!({ "$and": [deep] });
        }
        let err = parse_selector(&deep).unwrap_err();
        assert!(err.to_string().contains("nested too deeply"), "{err}");
        assert!(parse_selector(&json!({ "a": { "$in": [1, 2, 3] } })).is_ok());
    }
}
