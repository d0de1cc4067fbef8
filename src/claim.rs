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
    if let Some((m, e)) = t.split_once(['e', 'E']) {
        // rust_decimal's `from_scientific` rounds a long mantissa: read it exactly.
        let bad = || format!("{t} has no exact decimal value (too many digits, or out of range)");
        let m = crate::value::parse_exact(m).map_err(|_| bad())?;
        let e: i32 = e
            .strip_prefix('+')
            .unwrap_or(e)
            .parse()
            .map_err(|_| bad())?;
        return crate::value::times_pow10(m, e).ok_or_else(bad);
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

/// Why a number's text is not a value of its type.
enum NumberWhy {
    /// Not a decimal, or out of range (the message says which).
    NotANumber(String),
    /// Below zero: claims carry no negative amounts, quantities or rates.
    Negative,
    /// More fraction digits (first) than the field allows (second).
    TooPrecise(u32, u32),
    /// More digits than an exact decimal holds (a 30-digit amount).
    TooManyDigits(crate::value::NotExact),
}

/// The message of a number with more digits than an exact decimal holds.
fn too_many_digits(ty: &Type, shown: &str, why: crate::value::NotExact) -> String {
    let noun = if *ty == Type::Money {
        "amount"
    } else {
        "number"
    };
    let detail = match why {
        crate::value::NotExact::TooManyDigits { fraction, .. } if fraction > 28 => {
            format!("{fraction} fraction digits; an exact decimal holds at most 28")
        }
        crate::value::NotExact::TooManyDigits { significant, .. } => {
            format!("{significant} significant digits; an exact decimal holds at most 28")
        }
        crate::value::NotExact::Syntax => "not a decimal".to_string(),
    };
    format!("{shown} has too many digits for an exact {noun}: {detail}")
}

/// The fraction digits a claim's number may carry when its field declares none: money is in
/// fen (2); decimals (quantities) and rates carry 4 (a rate as a fraction: `12.34%`).
pub fn default_digits(ty: &Type) -> u32 {
    match ty {
        Type::Money => 2,
        _ => 4,
    }
}

/// The message of a number with too many fraction digits (`rulec::E0718`).
fn too_precise(ty: &Type, shown: &str, digits: u32, max: u32) -> String {
    match ty {
        Type::Money if max == 2 => format!(
            "{shown} has {digits} fraction digits; an amount is in fen (2 digits) unless the \
             schema declares finer, e.g. `money(4)`"
        ),
        Type::Rate => format!(
            "{shown} has {digits} fraction digits as a fraction, more than the {max} this \
             field allows"
        ),
        _ => format!("{shown} has {digits} fraction digits, more than the {max} this field allows"),
    }
}

/// A money, rate or decimal value from the number's text (a JSON number's digits or a
/// string); a rate may be written with `%`. Shared by the tree reader and the byte decoder,
/// so that both read every number alike.
fn number_value(ty: &Type, text: &str, digits: Option<u32>) -> Result<Value, NumberWhy> {
    let (text, pct) = match (ty, text.trim().strip_suffix('%')) {
        (Type::Rate, Some(t)) => (t, true),
        _ => (text, false),
    };
    if let Err(why @ crate::value::NotExact::TooManyDigits { .. }) =
        crate::value::parse_exact(text.trim())
    {
        return Err(NumberWhy::TooManyDigits(why));
    }
    let mut d = decimal_from_text(text).map_err(NumberWhy::NotANumber)?;
    if d.is_sign_negative() || text.trim_start().starts_with('-') {
        return Err(NumberWhy::Negative);
    }
    // Trailing zeros carry no precision: `12.50` is two digits, `12.5000` as well.
    let max = digits.unwrap_or_else(|| default_digits(ty));
    let scale = d.normalize().scale() + if pct { 2 } else { 0 };
    if scale > max {
        return Err(NumberWhy::TooPrecise(scale, max));
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

    /// Reads `j` at `path` as type `ty` (numbers with the type's default fraction digits).
    pub fn read(
        &self,
        j: &Json,
        ty: &Type,
        path: &mut String,
        depth: usize,
    ) -> Result<Value, ClaimError> {
        self.read_digits(j, ty, None, path, depth)
    }

    /// As [`Reader::read`], numbers with at most `digits` fraction digits when given.
    fn read_digits(
        &self,
        j: &Json,
        ty: &Type,
        digits: Option<u32>,
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
                _ => self.read_digits(j, inner, digits, path, depth),
            },
            Type::Money | Type::Decimal | Type::Rate => {
                let what = if *ty == Type::Money {
                    "an amount"
                } else {
                    "a decimal"
                };
                // The number's own text (`arbitrary_precision`): no copy, no float.
                let text = match j {
                    Json::Number(n) => n.as_str(),
                    Json::String(s) => s.as_str(),
                    _ => return Err(expected(what)),
                };
                number_value(ty, text, digits).map_err(|why| match why {
                    NumberWhy::NotANumber(_) if matches!(j, Json::String(_)) => expected(what),
                    NumberWhy::NotANumber(m) => err(path, m),
                    NumberWhy::Negative => {
                        err(path, format!("must not be negative, found {}", describe(j)))
                    }
                    NumberWhy::TooPrecise(n, max) => ClaimError {
                        code: Code::TooPrecise,
                        path: path.clone(),
                        message: too_precise(ty, &describe(j), n, max),
                    },
                    NumberWhy::TooManyDigits(why) => {
                        err(path, too_many_digits(ty, &describe(j), why))
                    }
                })
            }
            Type::Int => match j {
                Json::Number(n) => n
                    .as_str()
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
                    let v = self.read_digits(it, inner, digits, path, depth + 1);
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
                // An undeclared key first: a misspelled field is also a missing one, and the
                // misspelling is the cause. The claim's top level may carry the running
                // totals (`accumulators`).
                // A small record (most are): one pass over the object's keys, each matched
                // to its field by a scan of the declared names, no hashing per field. A wide
                // one: a hashed look-up per field, so that the work stays linear.
                let mut given: Vec<Option<&Json>> = vec![None; rec.fields.len()];
                if rec.fields.len() <= SCAN_FIELDS {
                    for (k, v) in map {
                        match given
                            .iter_mut()
                            .zip(&rec.fields)
                            .find(|(_, f)| f.name == *k)
                        {
                            Some((g, _)) => *g = Some(v),
                            None if depth == 0 && k == ACCUMULATORS => {}
                            None => return Err(self.unknown_key(rec, map, path, depth)),
                        }
                    }
                } else {
                    for (g, f) in given.iter_mut().zip(&rec.fields) {
                        *g = map.get(&f.name);
                    }
                    let known = given.iter().flatten().count();
                    let extra = usize::from(depth == 0 && map.contains_key(ACCUMULATORS));
                    if known + extra < map.len() {
                        return Err(self.unknown_key(rec, map, path, depth));
                    }
                }
                let mut fields = Vec::with_capacity(rec.fields.len());
                let base = path.len();
                for (f, given) in rec.fields.iter().zip(given) {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&f.name);
                    let v = match given {
                        Some(Json::Null) | None if f.default.is_some() => {
                            Ok(f.default.clone().unwrap_or(Value::None))
                        }
                        Some(x) => self.read_digits(x, &f.ty, f.digits, path, depth + 1),
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

/// Records with at most this many fields are matched to a JSON object's keys by scanning
/// the names; wider ones by hashing.
const SCAN_FIELDS: usize = 16;

/// The key of a claim's running totals, beside the declared input's fields.
pub const ACCUMULATORS: &str = "accumulators";

/// "; did you mean `x`?", or the names when they are few (`none` when there are none).
fn names_hint(key: &str, names: &[&str], list: &str, none: &str) -> String {
    match crate::diag::did_you_mean(key, names.iter().copied()) {
        Some(s) => format!("; did you mean `{s}`?"),
        None if names.is_empty() => none.to_string(),
        None if names.len() <= 24 => format!("; {list} {}", names.join(", ")),
        None => String::new(),
    }
}

/// The error for a key a record does not declare (`record_name` has no field `key`).
fn no_field(record: &crate::ir::RecordDef, key: &str, top: bool) -> String {
    let mut names: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
    if top {
        names.push(ACCUMULATORS);
    }
    format!(
        "{} has no field `{key}`{}",
        record.name,
        names_hint(key, &names, "its fields are", "")
    )
}

/// The error for a running total the ruleset does not keep.
fn no_accumulator(rs: &Ruleset, key: &str) -> String {
    let names: Vec<&str> = rs.accumulators.iter().map(|a| a.name.as_str()).collect();
    format!(
        "the ruleset keeps no accumulator `{key}`{}",
        names_hint(key, &names, "it keeps", "; it keeps none")
    )
}

impl Reader<'_> {
    /// The first key of `map` that record `rec` does not declare, as an error with "did you
    /// mean": a misspelled optional field would otherwise take its default silently.
    fn unknown_key(
        &self,
        rec: &crate::ir::RecordDef,
        map: &serde_json::Map<String, Json>,
        path: &str,
        depth: usize,
    ) -> ClaimError {
        let declared: std::collections::HashSet<&str> =
            rec.fields.iter().map(|f| f.name.as_str()).collect();
        let key = map
            .keys()
            .find(|k| !(declared.contains(k.as_str()) || (depth == 0 && *k == ACCUMULATORS)))
            .map(String::as_str)
            .unwrap_or_default();
        ClaimError {
            code: Code::InvalidClaim,
            path: if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            },
            message: no_field(rec, key, depth == 0),
        }
    }
}

/// Reads a whole claim: the declared input, and the running totals under `accumulators`
/// (each a declared accumulator; a missing one is 0). Both `rulec eval` and `rulec check`
/// (on test cases) read claims through this.
pub fn read_claim(
    rs: &Ruleset,
    limits: &Limits,
    claim: &Json,
) -> Result<(Value, Vec<Value>), ClaimError> {
    let reader = Reader::new(rs, limits);
    let input = match &rs.input {
        Some((_, ty)) => reader.read(claim, ty, &mut String::new(), 0)?,
        None => Value::None,
    };
    let mut accs = Vec::with_capacity(rs.accumulators.len());
    let given = claim.get(ACCUMULATORS);
    let given = match given {
        None => None,
        Some(Json::Object(g)) => Some(g),
        Some(_) => {
            return Err(ClaimError {
                code: Code::InvalidClaim,
                path: ACCUMULATORS.into(),
                message: "expected an object of running totals".into(),
            })
        }
    };
    let mut known = 0;
    for a in &rs.accumulators {
        let v = match given.and_then(|g| g.get(&a.name)) {
            Some(j) => {
                known += 1;
                reader.read(j, &a.ty, &mut format!("{ACCUMULATORS}.{}", a.name), 1)?
            }
            None => match a.ty {
                Type::Money => Value::Money(Money::default()),
                Type::Rate => Value::Rate(Rate::default()),
                Type::Int => Value::Int(0),
                _ => Value::Decimal(Decimal::ZERO),
            },
        };
        accs.push(v);
    }
    if let Some(g) = given.filter(|g| g.len() > known) {
        // A running total the ruleset does not keep would otherwise be dropped silently.
        let declared: std::collections::HashSet<&str> =
            rs.accumulators.iter().map(|a| a.name.as_str()).collect();
        let key = g
            .keys()
            .find(|k| !declared.contains(k.as_str()))
            .map(String::as_str)
            .unwrap_or_default();
        return Err(ClaimError {
            code: Code::InvalidClaim,
            path: format!("{ACCUMULATORS}.{key}"),
            message: no_accumulator(rs, key),
        });
    }
    Ok((input, accs))
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

// ---------------------------------------------------------------- straight from bytes

/// A claim read straight from its JSON text into the values of the declared input, with no
/// JSON tree in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The value of the declared input.
    pub input: Value,
    /// For each of the ruleset's accumulators (declaration order), the running total the
    /// claim carries in `accumulators`, if it carries one.
    pub accumulators: Vec<Option<Value>>,
}

/// serde_json's name for a number kept as text (`arbitrary_precision`).
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// One step of a JSON path.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Field(&'a str),
    Index(usize),
}

/// What the decoder shares down the tree: the schema, the limits, the path so far, the first
/// error and the running totals found.
struct Cx<'a> {
    rs: &'a Ruleset,
    limits: &'a Limits,
    path: std::cell::RefCell<Vec<Seg<'a>>>,
    error: std::cell::RefCell<Option<ClaimError>>,
    accs: std::cell::RefCell<Vec<Option<Value>>>,
}

impl<'a> Cx<'a> {
    fn path(&self) -> String {
        let mut out = String::new();
        for seg in self.path.borrow().iter() {
            match seg {
                Seg::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// Records the first error at the current path; serde carries only a marker up.
    fn fail<E: serde::de::Error>(&self, code: Code, message: String) -> E {
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(ClaimError {
                code,
                path: self.path(),
                message,
            });
        }
        E::custom("the claim does not fit the declared input")
    }

    fn push(&self, seg: Seg<'a>) {
        self.path.borrow_mut().push(seg);
    }

    fn pop(&self) {
        self.path.borrow_mut().pop();
    }
}

/// A value of type `ty` at the current path (the seed and the visitor are one).
#[derive(Clone, Copy)]
struct Val<'c, 'a> {
    cx: &'c Cx<'a>,
    /// The type without `?`.
    ty: &'a Type,
    optional: bool,
    /// A record field's default, taken for `null` too.
    default: Option<&'a Value>,
    /// The field's declared fraction digits (`money(4)`), for its numbers.
    digits: Option<u32>,
    depth: usize,
    /// The claim itself: its `accumulators` key holds the running totals.
    top: bool,
}

impl<'c, 'a> Val<'c, 'a> {
    fn new(cx: &'c Cx<'a>, ty: &'a Type, depth: usize) -> Val<'c, 'a> {
        let mut ty = ty;
        let mut optional = false;
        while let Type::Optional(inner) = ty {
            ty = inner;
            optional = true;
        }
        Val {
            cx,
            ty,
            optional,
            default: None,
            digits: None,
            depth,
            top: false,
        }
    }

    fn check<E: serde::de::Error>(&self) -> Result<(), E> {
        if self.depth > self.cx.limits.max_json_depth {
            return Err(self.cx.fail(
                Code::ClaimTooDeep,
                format!(
                    "nested deeper than the limit of {}",
                    self.cx.limits.max_json_depth
                ),
            ));
        }
        Ok(())
    }

    fn mismatch<E: serde::de::Error>(&self, found: &str) -> E {
        let what = match self.ty {
            Type::Money => "an amount".to_string(),
            Type::Decimal | Type::Rate => "a decimal".to_string(),
            Type::Int => "an integer".to_string(),
            Type::Bool => "true or false".to_string(),
            Type::Date => "a date \"YYYY-MM-DD\"".to_string(),
            Type::Text => "text".to_string(),
            Type::List(_) => "a list".to_string(),
            other => Show(other, self.cx.rs).to_string(),
        };
        self.cx.fail(
            Code::InvalidClaim,
            format!("expected {what}, found {found}"),
        )
    }

    fn number<E: serde::de::Error>(&self, text: &str) -> Result<Value, E> {
        match self.ty {
            Type::Money | Type::Decimal | Type::Rate => number_value(self.ty, text, self.digits)
                .map_err(|why| match why {
                    NumberWhy::NotANumber(m) => self.cx.fail(Code::InvalidClaim, m),
                    NumberWhy::Negative => self.cx.fail(
                        Code::InvalidClaim,
                        format!("must not be negative, found {text}"),
                    ),
                    NumberWhy::TooPrecise(n, max) => self
                        .cx
                        .fail(Code::TooPrecise, too_precise(self.ty, text, n, max)),
                    NumberWhy::TooManyDigits(why) => self
                        .cx
                        .fail(Code::InvalidClaim, too_many_digits(self.ty, text, why)),
                }),
            Type::Int => text
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| self.mismatch(text)),
            _ => Err(self.mismatch(text)),
        }
    }

    fn record<'de, A: serde::de::MapAccess<'de>>(
        &self,
        r: u32,
        first: Option<Key>,
        mut map: A,
    ) -> Result<Value, A::Error> {
        let cx = self.cx;
        let Some(rec) = cx.rs.records.get(r as usize) else {
            return Err(self.mismatch("an object"));
        };
        let mut values: Vec<Value> = vec![Value::None; rec.fields.len()];
        let mut seen = Seen::new(rec.fields.len());
        let mut others = Others::default();
        let mut key = first;
        while let Some(k) = key {
            match k {
                Key::Known(i) => {
                    let Some(f) = rec.fields.get(i) else { break };
                    cx.push(Seg::Field(&f.name));
                    if !seen.insert(i) {
                        return Err(cx.fail(
                            Code::InvalidClaim,
                            format!("the key `{}` is given twice", f.name),
                        ));
                    }
                    let mut seed = Val::new(cx, &f.ty, self.depth + 1);
                    seed.default = f.default.as_ref();
                    seed.digits = f.digits;
                    let v = map.next_value_seed(seed)?;
                    if let Some(slot) = values.get_mut(i) {
                        *slot = v;
                    }
                    cx.pop();
                }
                Key::Accumulators if self.top => {
                    cx.push(Seg::Field("accumulators"));
                    if !others.insert("accumulators") {
                        return Err(cx.fail(
                            Code::InvalidClaim,
                            "the key `accumulators` is given twice".into(),
                        ));
                    }
                    map.next_value_seed(Accs { cx })?;
                    cx.pop();
                }
                // A key the record does not declare is refused: a misspelled optional
                // field would otherwise take its default silently.
                Key::Accumulators => {
                    return Err(undeclared(
                        cx,
                        ACCUMULATORS,
                        no_field(rec, ACCUMULATORS, false),
                    ))
                }
                Key::Other(name) => {
                    return Err(undeclared(cx, &name, no_field(rec, &name, self.top)))
                }
                Key::Number => return Err(self.mismatch("a number")),
            }
            key = map.next_key_seed(Keys::Fields(&rec.fields))?;
        }
        for (i, f) in rec.fields.iter().enumerate() {
            if seen.contains(i) {
                continue;
            }
            let v = match (&f.default, &f.ty) {
                (Some(d), _) => d.clone(),
                (None, Type::Optional(_)) => Value::None,
                (None, ty) => {
                    cx.push(Seg::Field(&f.name));
                    let e = cx.fail(
                        Code::InvalidClaim,
                        format!("missing; expected {}", Show(ty, cx.rs)),
                    );
                    cx.pop();
                    return Err(e);
                }
            };
            if let Some(slot) = values.get_mut(i) {
                *slot = v;
            }
        }
        Ok(Value::Record(Arc::from(values)))
    }
}

impl<'de, 'c, 'a> serde::de::DeserializeSeed<'de> for Val<'c, 'a> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'c, 'a> serde::de::Visitor<'de> for Val<'c, 'a> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value of the declared input")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        if let Some(d) = self.default {
            return Ok(d.clone());
        }
        self.check()?;
        if self.optional {
            Ok(Value::None)
        } else {
            Err(self.mismatch("null"))
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Value, E> {
        self.check()?;
        match self.ty {
            Type::Bool => Ok(Value::Bool(b)),
            _ => Err(self.mismatch(if b { "true" } else { "false" })),
        }
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Value, E> {
        self.check()?;
        match self.ty {
            Type::Money => Ok(Value::Money(Money(Decimal::from(n)))),
            Type::Decimal => Ok(Value::Decimal(Decimal::from(n))),
            Type::Rate => Ok(Value::Rate(Rate(Decimal::from(n)))),
            Type::Int => i64::try_from(n)
                .map(Value::Int)
                .map_err(|_| self.mismatch(&n.to_string())),
            _ => Err(self.mismatch(&n.to_string())),
        }
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Value, E> {
        self.check()?;
        match self.ty {
            Type::Int => Ok(Value::Int(n)),
            _ => self.number(&n.to_string()),
        }
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Value, E> {
        // Never called: numbers arrive as text (`arbitrary_precision`).
        Err(self
            .cx
            .fail(Code::InvalidClaim, "a number that is not exact".into()))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
        self.check()?;
        let found = || {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("\"{short}…\" ({} bytes)", s.len())
            } else {
                format!("{s:?}")
            }
        };
        match self.ty {
            Type::Money | Type::Decimal | Type::Rate => number_value(self.ty, s, self.digits)
                .map_err(|why| match why {
                    NumberWhy::NotANumber(_) => self.mismatch(&found()),
                    NumberWhy::Negative => self.cx.fail(
                        Code::InvalidClaim,
                        format!("must not be negative, found {}", found()),
                    ),
                    NumberWhy::TooPrecise(n, max) => self
                        .cx
                        .fail(Code::TooPrecise, too_precise(self.ty, &found(), n, max)),
                    NumberWhy::TooManyDigits(why) => self
                        .cx
                        .fail(Code::InvalidClaim, too_many_digits(self.ty, &found(), why)),
                }),
            Type::Int => s
                .trim()
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| self.mismatch(&found())),
            Type::Date => Date::parse(s).map(Value::Date).map_err(|why| {
                self.cx.fail(
                    Code::InvalidClaim,
                    format!("expected a date YYYY-MM-DD: {why}"),
                )
            }),
            Type::Text => Ok(Value::Text(Arc::from(s))),
            Type::Enum(e) => {
                let en = self.cx.rs.enums.get(*e as usize);
                match en.and_then(|en| en.variants.iter().position(|v| v == s)) {
                    Some(i) => Ok(Value::Enum(*e, i as u32)),
                    None => Err(self.mismatch(&found())),
                }
            }
            _ => Err(self.mismatch(&found())),
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.check()?;
        let Type::List(inner) = self.ty else {
            return Err(self.mismatch("a list"));
        };
        let cx = self.cx;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        loop {
            if out.len() >= cx.limits.max_list_len {
                // One more element is one too many.
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(cx.fail(
                        Code::ListTooLong,
                        format!(
                            "more than {} elements, over the limit",
                            cx.limits.max_list_len
                        ),
                    ));
                }
                break;
            }
            cx.push(Seg::Index(out.len()));
            let mut seed = Val::new(cx, inner, self.depth + 1);
            seed.digits = self.digits;
            let v = seq.next_element_seed(seed)?;
            cx.pop();
            match v {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::List(Arc::from(out)))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.check()?;
        let keys = match self.ty {
            Type::Record(r) => match self.cx.rs.records.get(*r as usize) {
                Some(rec) => Keys::Fields(&rec.fields),
                None => Keys::None,
            },
            _ => Keys::None,
        };
        let first = map.next_key_seed(keys)?;
        if let Some(Key::Number) = first {
            let text: String = map.next_value()?;
            return self.number(&text);
        }
        match self.ty {
            Type::Record(r) => self.record(*r, first, map),
            _ => Err(self.mismatch("an object")),
        }
    }
}

/// A key of an object: a declared name (by index), the claim's `accumulators`, serde_json's
/// number marker, or another name (read and checked for repeats, its value skipped).
enum Key {
    Known(usize),
    Accumulators,
    Number,
    Other(String),
}

/// The names an object's keys are matched against.
#[derive(Clone, Copy)]
enum Keys<'a> {
    Fields(&'a [crate::ir::FieldDef]),
    Accumulators(&'a [crate::ir::Accumulator]),
    None,
}

impl<'de> serde::de::DeserializeSeed<'de> for Keys<'_> {
    type Value = Key;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Keys<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, s: &str) -> Result<Key, E> {
        let known = match self {
            Keys::Fields(fields) => fields.iter().position(|f| f.name == s),
            Keys::Accumulators(accs) => accs.iter().position(|a| a.name == s),
            Keys::None => None,
        };
        Ok(match known {
            Some(i) => Key::Known(i),
            None if s == "accumulators" => Key::Accumulators,
            None if s == NUMBER_TOKEN => Key::Number,
            None => Key::Other(s.to_string()),
        })
    }
}

/// The declared fields seen so far in one object.
enum Seen {
    Small(u64),
    Large(Vec<bool>),
}

impl Seen {
    fn new(n: usize) -> Seen {
        if n <= 64 {
            Seen::Small(0)
        } else {
            Seen::Large(vec![false; n])
        }
    }

    /// False when `i` was seen before.
    fn insert(&mut self, i: usize) -> bool {
        match self {
            Seen::Small(bits) => {
                let bit = 1u64 << (i % 64);
                let new = *bits & bit == 0;
                *bits |= bit;
                new
            }
            Seen::Large(v) => match v.get_mut(i) {
                Some(b) => !std::mem::replace(b, true),
                None => true,
            },
        }
    }

    fn contains(&self, i: usize) -> bool {
        match self {
            Seen::Small(bits) => *bits & (1u64 << (i % 64)) != 0,
            Seen::Large(v) => v.get(i).copied().unwrap_or(false),
        }
    }
}

/// The claim's own keys seen so far beside the declared fields (only `accumulators`).
#[derive(Default)]
struct Others(Option<rustc_hash::FxHashSet<String>>);

impl Others {
    /// False when `name` was seen before.
    fn insert(&mut self, name: &str) -> bool {
        let set = self.0.get_or_insert_with(Default::default);
        if set.contains(name) {
            return false;
        }
        set.insert(name.to_string())
    }
}

/// The claim's `accumulators`: an object of running totals by accumulator name.
struct Accs<'c, 'a> {
    cx: &'c Cx<'a>,
}

impl<'de, 'c, 'a> serde::de::DeserializeSeed<'de> for Accs<'c, 'a> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'c, 'a> Accs<'c, 'a> {
    fn not_an_object<E: serde::de::Error>(&self) -> E {
        self.cx.fail(
            Code::InvalidClaim,
            "expected an object of running totals".into(),
        )
    }
}

impl<'de, 'c, 'a> serde::de::Visitor<'de> for Accs<'c, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of running totals")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Err(self.not_an_object())
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.not_an_object())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.not_an_object())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.not_an_object())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.not_an_object())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.not_an_object())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.not_an_object())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let accs = &cx.rs.accumulators;
        let mut seen = Seen::new(accs.len());
        while let Some(k) = map.next_key_seed(Keys::Accumulators(accs))? {
            match k {
                Key::Known(i) => {
                    let Some(a) = accs.get(i) else { break };
                    cx.push(Seg::Field(&a.name));
                    if !seen.insert(i) {
                        return Err(cx.fail(
                            Code::InvalidClaim,
                            format!("the key `{}` is given twice", a.name),
                        ));
                    }
                    let v = map.next_value_seed(Val::new(cx, &a.ty, 1))?;
                    if let Some(slot) = cx.accs.borrow_mut().get_mut(i) {
                        *slot = Some(v);
                    }
                    cx.pop();
                }
                Key::Number => return Err(self.not_an_object()),
                // A running total the ruleset does not keep would start again from 0.
                Key::Accumulators => {
                    return Err(undeclared(
                        cx,
                        ACCUMULATORS,
                        no_accumulator(cx.rs, ACCUMULATORS),
                    ))
                }
                Key::Other(name) => {
                    return Err(undeclared(cx, &name, no_accumulator(cx.rs, &name)))
                }
            }
        }
        Ok(())
    }
}

/// Records the error for key `name` of the object at the current path.
fn undeclared<E: serde::de::Error>(cx: &Cx<'_>, name: &str, message: String) -> E {
    let mut path = cx.path();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
    let mut slot = cx.error.borrow_mut();
    if slot.is_none() {
        *slot = Some(ClaimError {
            code: Code::InvalidClaim,
            path,
            message,
        });
    }
    E::custom("the claim does not fit the declared input")
}

/// Reads claim JSON text straight into the declared input's values: numbers exact from
/// their text, every limit (depth, list length) and duplicate-key refusal as in
/// [`parse_strict`] and [`Reader`], bad UTF-8 refused. `Ok(None)` when the ruleset's input
/// has a shape this decoder leaves to the tree reader (no declared input, or a claim record
/// with its own field `accumulators`, which is also the running totals' key).
///
/// Its errors carry a path, but the API reports the tree reader's diagnostic for a claim
/// that fails (`Ruleset::evaluate_bytes`), so that both paths give one message per cause.
pub fn decode(rs: &Ruleset, limits: &Limits, bytes: &[u8]) -> Result<Option<Decoded>, ClaimError> {
    use serde::de::DeserializeSeed;
    let Some((_, ty)) = &rs.input else {
        return Ok(None);
    };
    if let Type::Record(r) = ty.unwrap_optional() {
        let own = rs
            .records
            .get(*r as usize)
            .is_some_and(|rec| rec.fields.iter().any(|f| f.name == "accumulators"));
        if own {
            return Ok(None);
        }
    }
    let cx = Cx {
        rs,
        limits,
        path: Default::default(),
        error: Default::default(),
        accs: std::cell::RefCell::new(vec![None; rs.accumulators.len()]),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut seed = Val::new(&cx, ty, 0);
    seed.top = true;
    let value = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match value {
        Ok(input) => Ok(Some(Decoded {
            input,
            accumulators: cx.accs.into_inner(),
        })),
        Err(e) => Err(cx.error.into_inner().unwrap_or_else(|| ClaimError {
            code: Code::InvalidClaim,
            path: String::new(),
            message: format!("the claim is not valid JSON: {e}"),
        })),
    }
}

/// The fields a host reads before it knows the ruleset: `insured.region` to route the claim,
/// `claim_id` to label its output line.
#[derive(Debug, serde::Deserialize)]
pub struct Peek<'a> {
    /// `claim_id`, as given (any JSON value).
    #[serde(default)]
    pub claim_id: Option<Json>,
    #[serde(borrow, default)]
    insured: Option<PeekInsured<'a>>,
    /// `insured.region`, when it is text (filled from `insured`).
    #[serde(skip)]
    pub region: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Debug, serde::Deserialize)]
struct PeekInsured<'a> {
    #[serde(borrow, default)]
    region: Option<std::borrow::Cow<'a, str>>,
}

/// Reads `claim_id` and `insured.region` from claim bytes in one light pass, skipping the
/// rest; no JSON tree is built. `None` when the text is not a JSON object of that shape
/// (not JSON, a repeated `insured`, a region that is not text): then
/// [`parse_strict`] or the router's `route` decides what to report.
pub fn peek(bytes: &[u8]) -> Option<Peek<'_>> {
    let mut p: Peek<'_> = serde_json::from_slice(bytes).ok()?;
    p.region = p.insured.take().and_then(|i| i.region);
    Some(p)
}
