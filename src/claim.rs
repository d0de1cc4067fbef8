//! Claims: JSON validated against the ruleset's declared input, read exactly.
//!
//! Numbers are taken from their JSON text (serde_json keeps it with
//! `arbitrary_precision`), never through `f64`, so `0.1` and `12345678901234567.89` survive.
//! Every error names the JSON path: `items[3].unit_price: expected a decimal, found "abc"`.

use crate::diag::Code;
use crate::ir::Ruleset;
use crate::limits::Limits;
use crate::types::{Show, Type};
use crate::value::{Date, Money, Rate, Value};
use rust_decimal::Decimal;
use serde_json::Value as Json;
use std::sync::Arc;

/// A claim that does not fit, with the JSON path of the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimError {
    /// Which problem (`rulec::E0710` unless a limit was hit).
    pub code: crate::diag::Code,
    /// Where, e.g. `items[3].unit_price` (empty for the whole claim).
    pub path: String,
    /// What was expected and found.
    pub message: String,
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn describe(j: &Json) -> String {
    match j {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("\"{short}…\" ({} bytes)", s.len())
            } else {
                format!("{s:?}")
            }
        }
        Json::Array(a) => format!("a list of {}", a.len()),
        Json::Object(_) => "an object".into(),
    }
}

/// Parses a decimal from JSON text: digits, an optional sign and point; an exponent only
/// when the value stays exact and in range.
pub fn decimal_from_text(t: &str) -> Result<Decimal, String> {
    let t = t.trim();
    if t.contains(['e', 'E']) {
        return Decimal::from_scientific(t)
            .map_err(|_| format!("{t} is out of range for an exact decimal"));
    }
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
    {
        return Err(format!("{t:?} is not a decimal"));
    }
    Decimal::from_str_exact(t)
        .map_err(|_| format!("{t} is out of range for an exact decimal (at most 28 digits)"))
}

/// Converts claim JSON to a value of the declared type.
pub struct Reader<'a> {
    rs: &'a Ruleset,
    limits: &'a Limits,
}

impl<'a> Reader<'a> {
    /// A reader for one ruleset.
    pub fn new(rs: &'a Ruleset, limits: &'a Limits) -> Reader<'a> {
        Reader { rs, limits }
    }

    /// Reads `j` at `path` as type `ty`.
    pub fn read(
        &self,
        j: &Json,
        ty: &Type,
        path: &mut String,
        depth: usize,
    ) -> Result<Value, ClaimError> {
        let err = |path: &String, msg: String| ClaimError {
            code: Code::InvalidClaim,
            path: path.clone(),
            message: msg,
        };
        if depth > self.limits.max_json_depth {
            return Err(ClaimError {
                code: Code::ClaimTooDeep,
                path: path.clone(),
                message: format!(
                    "nested deeper than the limit of {}",
                    self.limits.max_json_depth
                ),
            });
        }
        let expected = |what: &str| err(path, format!("expected {what}, found {}", describe(j)));
        match ty {
            Type::Optional(inner) => match j {
                Json::Null => Ok(Value::None),
                _ => self.read(j, inner, path, depth),
            },
            Type::Money | Type::Decimal | Type::Rate => {
                let text = match j {
                    Json::Number(n) => n.to_string(),
                    Json::String(s) => s.clone(),
                    _ => {
                        return Err(expected(if *ty == Type::Money {
                            "an amount"
                        } else {
                            "a decimal"
                        }))
                    }
                };
                let (text, pct) = match (ty, text.trim().strip_suffix('%')) {
                    (Type::Rate, Some(t)) => (t.to_string(), true),
                    _ => (text, false),
                };
                let mut d = decimal_from_text(&text).map_err(|m| match j {
                    Json::String(_) => expected(if *ty == Type::Money {
                        "an amount"
                    } else {
                        "a decimal"
                    }),
                    _ => err(path, m),
                })?;
                if d.is_sign_negative() || text.trim_start().starts_with('-') {
                    return Err(err(
                        path,
                        format!("must not be negative, found {}", describe(j)),
                    ));
                }
                if d.is_zero() {
                    d = Decimal::ZERO;
                }
                Ok(match ty {
                    Type::Money => Value::Money(Money(d)),
                    Type::Rate => Value::Rate(Rate(if pct { d / Decimal::ONE_HUNDRED } else { d })),
                    _ => Value::Decimal(d),
                })
            }
            Type::Int => match j {
                Json::Number(n) => n
                    .to_string()
                    .parse::<i64>()
                    .map(Value::Int)
                    .map_err(|_| expected("an integer")),
                Json::String(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(Value::Int)
                    .map_err(|_| expected("an integer")),
                _ => Err(expected("an integer")),
            },
            Type::Bool => match j {
                Json::Bool(b) => Ok(Value::Bool(*b)),
                _ => Err(expected("true or false")),
            },
            Type::Date => match j {
                Json::String(s) => Date::parse(s)
                    .map(Value::Date)
                    .map_err(|why| err(path, format!("expected a date YYYY-MM-DD: {why}"))),
                _ => Err(expected("a date \"YYYY-MM-DD\"")),
            },
            Type::Text => match j {
                Json::String(s) => Ok(Value::Text(Arc::from(s.as_str()))),
                _ => Err(expected("text")),
            },
            Type::Enum(e) => {
                let en = self
                    .rs
                    .enums
                    .get(*e as usize)
                    .ok_or_else(|| expected("an enum value"))?;
                match j {
                    Json::String(s) => match en.variants.iter().position(|v| v == s) {
                        Some(i) => Ok(Value::Enum(*e, i as u32)),
                        None => Err(err(
                            path,
                            format!(
                                "expected one of {}, found {}",
                                en.variants.join(", "),
                                describe(j)
                            ),
                        )),
                    },
                    _ => Err(err(
                        path,
                        format!(
                            "expected one of {}, found {}",
                            en.variants.join(", "),
                            describe(j)
                        ),
                    )),
                }
            }
            Type::List(inner) => {
                let Json::Array(items) = j else {
                    return Err(expected("a list"));
                };
                if items.len() > self.limits.max_list_len {
                    return Err(ClaimError {
                        code: Code::ListTooLong,
                        path: path.clone(),
                        message: format!(
                            "{} elements, over the limit of {}",
                            items.len(),
                            self.limits.max_list_len
                        ),
                    });
                }
                let mut out = Vec::with_capacity(items.len());
                let base = path.len();
                for (i, it) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    let v = self.read(it, inner, path, depth + 1);
                    path.truncate(base);
                    out.push(v?);
                }
                Ok(Value::List(Arc::from(out)))
            }
            Type::Record(r) => {
                let rec = self
                    .rs
                    .records
                    .get(*r as usize)
                    .ok_or_else(|| expected("an object"))?;
                let Json::Object(map) = j else {
                    return Err(err(
                        path,
                        format!("expected an object ({}), found {}", rec.name, describe(j)),
                    ));
                };
                let mut fields = Vec::with_capacity(rec.fields.len());
                let base = path.len();
                for f in &rec.fields {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&f.name);
                    let v = match map.get(&f.name) {
                        Some(Json::Null) | None if f.default.is_some() => {
                            Ok(f.default.clone().unwrap_or(Value::None))
                        }
                        Some(x) => self.read(x, &f.ty, path, depth + 1),
                        None if matches!(f.ty, Type::Optional(_)) => Ok(Value::None),
                        None => Err(ClaimError {
                            code: crate::diag::Code::InvalidClaim,
                            path: path.clone(),
                            message: format!("missing; expected {}", Show(&f.ty, self.rs)),
                        }),
                    };
                    path.truncate(base);
                    fields.push(v?);
                }
                Ok(Value::Record(Arc::from(fields)))
            }
            Type::Row(_) | Type::Error => Err(expected("a value")),
        }
    }
}

/// Parses claim JSON strictly: numbers keep their exact text, and a key given twice in one
/// object is an error naming its JSON path (serde_json alone keeps the last silently).
pub fn parse_strict(text: &str) -> Result<Json, ClaimError> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Node {
        path: String::new(),
    }
    .deserialize(&mut de)
    .map_err(|e| {
        let msg = e.to_string();
        match msg.split_once(" at $") {
            Some((m, rest)) => {
                let (path, at) = rest.split_once(" at line ").unwrap_or((rest, ""));
                let message = if at.is_empty() {
                    m.to_string()
                } else {
                    format!("{m} (line {at})")
                };
                ClaimError {
                    code: Code::InvalidClaim,
                    path: path.to_string(),
                    message,
                }
            }
            None => ClaimError {
                code: Code::InvalidClaim,
                path: String::new(),
                message: format!("the claim is not valid JSON: {msg}"),
            },
        }
    })?;
    de.end().map_err(|e| ClaimError {
        code: Code::InvalidClaim,
        path: String::new(),
        message: format!("the claim is not valid JSON: {e}"),
    })?;
    Ok(value)
}

/// A JSON value being read at a path.
struct Node {
    path: String,
}

impl<'de> serde::de::DeserializeSeed<'de> for Node {
    type Value = Json;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Node {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Node {
            path: format!("{}[{}]", self.path, out.len()),
        })? {
            out.push(v);
        }
        Ok(Json::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        use serde::de::Error;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // serde_json's arbitrary-precision numbers arrive as a one-entry map with this key.
            if key == "$serde_json::private::Number" {
                let text: String = map.next_value()?;
                let n = text.parse::<serde_json::Number>().map_err(|_| {
                    A::Error::custom(format!("`{text}` is not a number at ${}", self.path))
                })?;
                return Ok(Json::Number(n));
            }
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "the key `{key}` is given twice at ${path}"
                )));
            }
            let v = map.next_value_seed(Node { path })?;
            out.insert(key, v);
        }
        Ok(Json::Object(out))
    }
}
