//! Value types: dates, money, rates, rounding, and the runtime [`Value`].
//!
//! Money and rates are distinct types at run time as well as in the checker:
//! [`Money`] × [`Rate`] is [`Money`], and there is no `Money × Money`.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;
use std::sync::Arc;

/// A calendar date (proleptic Gregorian), years 1..=9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The latest representable date.
    pub const MAX: Date = Date {
        year: 9999,
        month: 12,
        day: 31,
    };
    /// The earliest representable date.
    pub const MIN: Date = Date {
        year: 1,
        month: 1,
        day: 1,
    };

    /// A date, or a reason it does not exist.
    pub fn new(year: i32, month: u32, day: u32) -> Result<Date, String> {
        if !(1..=9999).contains(&year) {
            return Err(format!("year {year} is outside 1..9999"));
        }
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} is outside 1..12"));
        }
        let dim = days_in_month(year, month as u8);
        if day < 1 || day > u32::from(dim) {
            return Err(format!("{year:04}-{month:02} has {dim} days, not {day}"));
        }
        Ok(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, String> {
        let mut parts = s.trim().split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("`{s}` is not a date of the form YYYY-MM-DD"));
        };
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("`{s}` is not a date of the form YYYY-MM-DD"));
            }
            p.parse::<u32>().map_err(|_| format!("`{s}` is not a date"))
        };
        if y.len() != 4 {
            return Err(format!("`{s}` is not a date of the form YYYY-MM-DD"));
        }
        Date::new(num(y)? as i32, num(m)?, num(d)?)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }
    /// The day of the month.
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// The day before, saturating at [`Date::MIN`].
    pub fn pred(self) -> Date {
        if self.day > 1 {
            Date {
                day: self.day - 1,
                ..self
            }
        } else if self.month > 1 {
            let m = self.month - 1;
            Date {
                month: m,
                day: days_in_month(self.year, m),
                ..self
            }
        } else if self.year > 1 {
            Date {
                year: self.year - 1,
                month: 12,
                day: 31,
            }
        } else {
            self
        }
    }

    /// The day after, saturating at [`Date::MAX`].
    pub fn succ(self) -> Date {
        if self.day < days_in_month(self.year, self.month) {
            Date {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Date {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else if self.year < 9999 {
            Date {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        } else {
            self
        }
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A closed date interval `[from, until]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// First day in force.
    pub from: Date,
    /// Last day in force.
    pub until: Date,
}

impl Period {
    /// All time.
    pub const ALWAYS: Period = Period {
        from: Date::MIN,
        until: Date::MAX,
    };

    /// True when `d` lies inside.
    pub fn contains(&self, d: Date) -> bool {
        self.from <= d && d <= self.until
    }

    /// The common part, if any.
    pub fn intersect(&self, other: &Period) -> Option<Period> {
        let from = self.from.max(other.from);
        let until = self.until.min(other.until);
        (from <= until).then_some(Period { from, until })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from == Date::MIN, self.until == Date::MAX) {
            (true, true) => write!(f, "always"),
            (false, true) => write!(f, "from {}", self.from),
            (true, false) => write!(f, "until {}", self.until),
            (false, false) => write!(f, "from {} until {}", self.from, self.until),
        }
    }
}

/// How to round to a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoundMode {
    /// Half away from zero (四舍五入).
    HalfUp,
    /// Half toward zero.
    HalfDown,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Away from zero.
    Up,
    /// Toward zero (truncate).
    Down,
    /// Toward negative infinity.
    Floor,
    /// Toward positive infinity.
    Ceiling,
}

impl RoundMode {
    /// Every mode with its name in the language.
    pub const NAMES: &'static [(&'static str, RoundMode)] = &[
        ("half_up", RoundMode::HalfUp),
        ("half_down", RoundMode::HalfDown),
        ("half_even", RoundMode::HalfEven),
        ("up", RoundMode::Up),
        ("down", RoundMode::Down),
        ("floor", RoundMode::Floor),
        ("ceiling", RoundMode::Ceiling),
    ];

    /// The mode for a name.
    pub fn from_name(name: &str) -> Option<RoundMode> {
        RoundMode::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
    }

    /// The name in the language.
    pub fn name(self) -> &'static str {
        RoundMode::NAMES
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap_or("half_up")
    }

    fn strategy(self) -> RoundingStrategy {
        match self {
            RoundMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundMode::HalfDown => RoundingStrategy::MidpointTowardZero,
            RoundMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundMode::Up => RoundingStrategy::AwayFromZero,
            RoundMode::Down => RoundingStrategy::ToZero,
            RoundMode::Floor => RoundingStrategy::ToNegativeInfinity,
            RoundMode::Ceiling => RoundingStrategy::ToPositiveInfinity,
        }
    }
}

/// Rounds `x` to a multiple of `unit` (e.g. 0.01, 1, 10), or `None` on overflow or a zero unit.
pub fn round_to(x: Decimal, unit: Decimal, mode: RoundMode) -> Option<Decimal> {
    if unit.is_zero() || unit.is_sign_negative() {
        return None;
    }
    // The common units 1, 0.1, 0.01, … round in place, without a division.
    if unit.mantissa() == 1 {
        return Some(x.round_dp_with_strategy(unit.scale(), mode.strategy()));
    }
    round_div(x, Decimal::ONE, unit, mode).ok()
}

/// An amount of money (CNY), exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub Decimal);

/// A rate: `80%` is `Rate(0.80)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rate(pub Decimal);

impl Money {
    /// `self × rate`, exact, or `None` on overflow.
    pub fn times_rate(self, r: Rate) -> Option<Money> {
        exact_mul(self.0, r.0).ok().map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_money(self.0))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", Percent(self.0))
    }
}

/// A fraction written as a percentage without the sign (`0.805` → `80.5`), exactly: the
/// decimal point moves two places, so even the largest fraction prints (`d × 100` could
/// overflow).
pub struct Percent(pub Decimal);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.normalize();
        let (m, s) = (d.mantissa(), d.scale());
        if s >= 2 {
            fmt::Display::fmt(&Decimal::from_i128_with_scale(m, s - 2).normalize(), f)
        } else {
            // |m| < 2^96, so m × 100 fits in an i128.
            let up: i128 = if s == 1 { 10 } else { 100 };
            write!(f, "{}", m.saturating_mul(up))
        }
    }
}

/// Money with at least two decimals (`200` → `200.00`), written from the exact value: the
/// zeros are added as text, so an amount too large to carry two more digits in a
/// `Decimal` is still written with its two decimals.
pub struct MoneyText(pub Decimal);

impl fmt::Display for MoneyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.normalize();
        fmt::Display::fmt(&d, f)?;
        match d.scale() {
            0 => f.write_str(".00"),
            1 => f.write_str("0"),
            _ => Ok(()),
        }
    }
}

/// Formats money with at least two decimals: `200` → `200.00`.
pub fn format_money(d: Decimal) -> String {
    MoneyText(d).to_string()
}

/// A runtime value. The checker guarantees every operation sees the types it expects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Money.
    Money(Money),
    /// A rate.
    Rate(Rate),
    /// A plain decimal.
    Decimal(Decimal),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A date.
    Date(Date),
    /// Text.
    Text(Arc<str>),
    /// An enum value: the enum's index and the variant's index in it.
    Enum(u32, u32),
    /// A record: fields in declaration order.
    Record(Arc<[Value]>),
    /// A list.
    List(Arc<[Value]>),
    /// An absent optional value.
    None,
    /// A catalog row: the catalog's index and the row's index.
    Row(u32, u32),
}

impl Value {
    /// True unless [`Value::None`].
    pub fn is_some(&self) -> bool {
        !matches!(self, Value::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap_or_default()
    }

    #[test]
    fn money_keeps_two_decimals_even_at_the_largest_amount() {
        for (v, text) in [
            ("0", "0.00"),
            ("200", "200.00"),
            ("-1.5", "-1.50"),
            ("8.5425", "8.5425"),
            (
                "79228162514264337593543950335",
                "79228162514264337593543950335.00",
            ),
            (
                "7922816251426433759354395033.5",
                "7922816251426433759354395033.50",
            ),
        ] {
            assert_eq!(format_money(dec(v)), text, "{v}");
        }
    }

    #[test]
    fn rates_are_written_as_exact_percentages_even_the_largest() {
        for (v, text) in [
            ("0.8", "80%"),
            ("0.805", "80.5%"),
            ("0", "0%"),
            ("-0.05", "-5%"),
            (
                "79228162514264337593543950335",
                "7922816251426433759354395033500%",
            ),
            (
                "0.0000000000000000000000000001",
                "0.00000000000000000000000001%",
            ),
        ] {
            assert_eq!(Rate(dec(v)).to_string(), text, "{v}");
        }
    }

    #[test]
    fn dates() {
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("2024-02-30").is_err());
        assert_eq!(
            Date::parse("2024-01-01").map(Date::pred),
            Date::parse("2023-12-31")
        );
        assert_eq!(
            Date::parse("2024-02-28").map(Date::succ),
            Date::parse("2024-02-29")
        );
    }

    #[test]
    fn rounding() {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(
            round_to(d("2.345"), d("0.01"), RoundMode::HalfUp),
            Some(d("2.35"))
        );
        assert_eq!(
            round_to(d("-2.345"), d("0.01"), RoundMode::HalfUp),
            Some(d("-2.35"))
        );
        assert_eq!(
            round_to(d("2604.7"), d("1"), RoundMode::HalfUp),
            Some(d("2605"))
        );
        assert_eq!(
            round_to(d("2.345"), d("0.01"), RoundMode::HalfEven),
            Some(d("2.34"))
        );
        assert_eq!(round_to(d("1"), d("0"), RoundMode::HalfEven), None);
    }
}

/// Why an exact operation has no exact result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inexact {
    /// The result is too large for a decimal (about 7.9 × 10^28).
    Overflow,
    /// The result needs more digits than a decimal holds: rounding it is the rules' choice,
    /// never the arithmetic's.
    Precision,
}

const MAX_MANTISSA: i128 = (1i128 << 96) - 1;

/// A decimal from an exact mantissa and scale, dropping only trailing zeros.
fn from_parts(mut m: i128, mut s: u32) -> Result<Decimal, Inexact> {
    while (m.abs() > MAX_MANTISSA || s > 28) && s > 0 {
        if m % 10 != 0 {
            return Err(Inexact::Precision);
        }
        m /= 10;
        s -= 1;
    }
    if m.abs() > MAX_MANTISSA {
        return Err(Inexact::Overflow);
    }
    Ok(Decimal::from_i128_with_scale(m, s))
}

/// When the exact mantissa overflows `i128`, rust_decimal tells overflow from rounding.
fn fallback(r: Option<Decimal>) -> Inexact {
    match r {
        None => Inexact::Overflow,
        Some(_) => Inexact::Precision,
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `a × b`, exactly, or why not.
pub fn exact_mul(a: Decimal, b: Decimal) -> Result<Decimal, Inexact> {
    match a.mantissa().checked_mul(b.mantissa()) {
        Some(m) => from_parts(m, a.scale() + b.scale()),
        None => Err(fallback(a.checked_mul(b))),
    }
}

/// `a + b`, exactly, or why not.
pub fn exact_add(a: Decimal, b: Decimal) -> Result<Decimal, Inexact> {
    let s = a.scale().max(b.scale());
    let up = |d: Decimal| pow10(s - d.scale()).and_then(|p| d.mantissa().checked_mul(p));
    match (up(a), up(b)) {
        (Some(x), Some(y)) => match x.checked_add(y) {
            Some(m) => from_parts(m, s),
            None => Err(fallback(a.checked_add(b))),
        },
        _ => Err(fallback(a.checked_add(b))),
    }
}

/// `a − b`, exactly, or why not.
pub fn exact_sub(a: Decimal, b: Decimal) -> Result<Decimal, Inexact> {
    exact_add(a, -b)
}

/// `a ÷ b` when the quotient is exact (b ≠ 0), or why not.
pub fn exact_div(a: Decimal, b: Decimal) -> Result<Decimal, Inexact> {
    let q = a.checked_div(b).ok_or(Inexact::Overflow)?;
    match exact_mul(q, b) {
        Ok(back) if back == a => Ok(q),
        _ => Err(Inexact::Precision),
    }
}

/// `round(a ÷ b, unit, mode)`, correctly rounded from the exact quotient (b ≠ 0): no
/// intermediate rounding, so no double rounding.
pub fn round_div(
    a: Decimal,
    b: Decimal,
    unit: Decimal,
    mode: RoundMode,
) -> Result<Decimal, Inexact> {
    if unit.is_zero() || unit.is_sign_negative() {
        return Err(Inexact::Precision);
    }
    if unit.mantissa() != 1 {
        // round(a / b, u) = round(a / (b × u), 1) × u
        let q = round_div(a, exact_mul(b, unit)?, Decimal::ONE, mode)?;
        return exact_mul(q, unit);
    }
    let k = unit.scale();
    // a / b × 10^k = ma × 10^(sb + k) / (mb × 10^sa)
    let num = pow10(b.scale() + k)
        .and_then(|p| a.mantissa().checked_mul(p))
        .ok_or(Inexact::Overflow)?;
    let den = pow10(a.scale())
        .and_then(|p| b.mantissa().checked_mul(p))
        .ok_or(Inexact::Overflow)?;
    if den == 0 {
        return Err(Inexact::Overflow);
    }
    let q = num / den;
    let r = num % den;
    let neg = (num < 0) != (den < 0);
    let bump = if r == 0 {
        false
    } else {
        let twice = r.unsigned_abs().saturating_mul(2);
        let half = twice.cmp(&den.unsigned_abs());
        match mode {
            RoundMode::HalfUp => half != std::cmp::Ordering::Less,
            RoundMode::HalfDown => half == std::cmp::Ordering::Greater,
            RoundMode::HalfEven => {
                half == std::cmp::Ordering::Greater
                    || (half == std::cmp::Ordering::Equal && q % 2 != 0)
            }
            RoundMode::Up => true,
            RoundMode::Down => false,
            RoundMode::Floor => neg,
            RoundMode::Ceiling => !neg,
        }
    };
    let q = if bump {
        if neg {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    };
    from_parts(q, k)
}

/// Why a number's text has no exact decimal value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotExact {
    /// Not plain decimal text: an optional sign, digits, an optional point and digits.
    Syntax,
    /// More digits than a decimal holds exactly: its significant digits and fraction digits
    /// (leading and trailing zeros not counted).
    TooManyDigits {
        /// Digits from the first non-zero one to the last non-zero one.
        significant: usize,
        /// Digits after the point, up to the last non-zero one.
        fraction: usize,
    },
}

impl NotExact {
    /// What is wrong, after the number: "has 31 significant digits; …".
    pub fn why(self) -> String {
        match self {
            NotExact::Syntax => "is not a decimal number".into(),
            NotExact::TooManyDigits { fraction, .. } if fraction > 28 => format!(
                "has {fraction} fraction digits, more than the 28 an exact decimal holds"
            ),
            NotExact::TooManyDigits { significant, .. } => format!(
                "has {significant} significant digits, too many for an exact decimal (at most 28 significant digits)"
            ),
        }
    }
}

/// Parses plain decimal text (an optional sign, digits, an optional point and digits; no
/// exponent, no separators) to its exact value, or says why it has none. rust_decimal's own
/// parser rounds past 28 digits; this one refuses instead. Zeros that carry no value
/// (`0.1000…0` with 30 zeros) are dropped rather than refused. Linear in the text.
pub fn parse_exact(t: &str) -> Result<Decimal, NotExact> {
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or("")),
        Some(b'+') => (false, t.get(1..).unwrap_or("")),
        _ => (false, t),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(NotExact::Syntax);
    }
    let int = int.trim_start_matches('0');
    // The digits as written (`12.50` keeps its scale), else without trailing zeros.
    let exact = |frac: &str| -> Option<Decimal> {
        let sig = if int.is_empty() {
            frac.trim_start_matches('0').len()
        } else {
            int.len() + frac.len()
        };
        if frac.len() > 28 || sig > 29 {
            return None;
        }
        // At most 29 digits: the mantissa fits an i128; a decimal holds it below 2^96.
        let mut m: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            m = m * 10 + i128::from(b - b'0');
        }
        (m <= MAX_MANTISSA)
            .then(|| Decimal::from_i128_with_scale(if neg { -m } else { m }, frac.len() as u32))
    };
    let trimmed = frac.trim_end_matches('0');
    exact(frac)
        .or_else(|| exact(trimmed))
        .ok_or(NotExact::TooManyDigits {
            significant: if int.is_empty() {
                trimmed.trim_start_matches('0').len()
            } else {
                int.len() + trimmed.len()
            },
            fraction: trimmed.len(),
        })
}

/// `d × 10^e`, exactly, or `None` when that needs more digits than a decimal holds (JSON's
/// `1.5e3`; rust_decimal's `from_scientific` rounds instead).
pub fn times_pow10(d: Decimal, e: i32) -> Option<Decimal> {
    let s = i64::from(d.scale()) - i64::from(e);
    if d.is_zero() {
        return Some(Decimal::ZERO);
    }
    if s >= 0 {
        // A non-zero mantissa of at most 39 digits: beyond 28 + 39 places nothing is exact.
        let s = u32::try_from(s).ok().filter(|s| *s <= 28 + 39)?;
        from_parts(d.mantissa(), s).ok()
    } else {
        let p = pow10(u32::try_from(-s).ok()?)?;
        from_parts(d.mantissa().checked_mul(p)?, 0).ok()
    }
}

/// A rate written as a percentage (`12.5` of `12.5%`) as a fraction (`0.125`), exactly, or
/// `None` when the fraction needs more than 28 fraction digits.
pub fn percent_to_fraction(p: Decimal) -> Option<Decimal> {
    // Without trailing zeros (`80%` is 0.8, not 0.80), as a division gives it.
    from_parts(p.mantissa(), p.scale() + 2)
        .ok()
        .map(|d| d.normalize())
}

#[cfg(test)]
mod exact_tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn products_are_exact_or_refused() {
        // 0.5 × a 28-digit price: rust_decimal would round it; the exact result needs 29.
        let price = d("792281625142643375935439503.35");
        assert_eq!(exact_mul(d("0.5"), price), Err(Inexact::Precision));
        assert_eq!(exact_mul(d("2"), d("15.55")), Ok(d("31.10")));
        assert_eq!(exact_mul(d("0.50"), d("0.20")), Ok(d("0.1000")));
        assert_eq!(
            exact_mul(d("79228162514264337593543950335"), d("2")),
            Err(Inexact::Overflow)
        );
    }

    #[test]
    fn sums_keep_their_fen() {
        // Three amounts near 3 × 10^26 need 29 digits with their fen.
        let big = d("300000000000000000000000000.01");
        let two = exact_add(big, big);
        assert_eq!(two, Ok(d("600000000000000000000000000.02")));
        assert_eq!(two.and_then(|t| exact_add(t, big)), Err(Inexact::Precision));
        assert_eq!(exact_add(d("1.10"), d("2.205")), Ok(d("3.305")));
        assert_eq!(exact_sub(d("1"), d("0.01")), Ok(d("0.99")));
    }

    #[test]
    fn divisions_are_exact_or_rounded_once() {
        assert_eq!(exact_div(d("1"), d("4")), Ok(d("0.25")));
        assert_eq!(exact_div(d("1"), d("3")), Err(Inexact::Precision));
        assert_eq!(
            round_div(d("1"), d("3"), d("0.01"), RoundMode::HalfUp),
            Ok(d("0.33"))
        );
        assert_eq!(
            round_div(d("2"), d("3"), d("0.01"), RoundMode::Down),
            Ok(d("0.66"))
        );
        assert_eq!(
            round_div(d("-1"), d("8"), d("0.01"), RoundMode::HalfEven),
            Ok(d("-0.12"))
        );
        assert_eq!(
            round_div(d("-1"), d("8"), d("0.01"), RoundMode::HalfUp),
            Ok(d("-0.13"))
        );
        assert_eq!(
            round_div(d("-1"), d("3"), d("0.01"), RoundMode::Floor),
            Ok(d("-0.34"))
        );
        assert_eq!(
            round_div(d("1"), d("3"), d("0.01"), RoundMode::Ceiling),
            Ok(d("0.34"))
        );
        assert_eq!(
            round_div(d("1001"), d("2"), d("5"), RoundMode::HalfUp),
            Ok(d("500"))
        );
        assert_eq!(
            round_div(d("501"), d("2"), d("1"), RoundMode::HalfUp),
            Ok(d("251"))
        );
    }

    #[test]
    fn text_is_read_exactly_or_refused() {
        assert_eq!(
            parse_exact("12.50").map(|x| x.to_string()),
            Ok("12.50".into())
        );
        assert_eq!(parse_exact("-0.5"), Ok(d("-0.5")));
        assert_eq!(parse_exact("+3"), Ok(d("3")));
        assert_eq!(parse_exact(".5"), Ok(d("0.5")));
        assert_eq!(
            parse_exact("0.0000000000000000000000000001"),
            Ok(Decimal::new(1, 28))
        );
        // Zeros that carry no value are no reason to refuse.
        assert_eq!(
            parse_exact("1.000000000000000000000000000000000"),
            Ok(d("1"))
        );
        assert_eq!(
            parse_exact("0000000000000000000000000000000000000007"),
            Ok(d("7"))
        );
        // The largest decimal, 29 digits, is exact.
        assert_eq!(
            parse_exact("79228162514264337593543950335"),
            Ok(Decimal::MAX)
        );
        // rust_decimal's `parse` rounds each of these.
        for (t, significant, fraction) in [
            ("1.1234567890123456789012345678901", 32, 31),
            ("100.12345678901234567890123456789", 32, 29),
            ("7922816251426433759354395033.51", 30, 2),
            ("79228162514264337593543950336", 29, 0),
            ("0.00000000000000000000000000001", 1, 29),
            ("123456789012345678901234567890", 30, 0),
        ] {
            assert_eq!(
                parse_exact(t),
                Err(NotExact::TooManyDigits {
                    significant,
                    fraction
                }),
                "{t}"
            );
        }
        for t in [
            "", "-", ".", "1e5", "1.2.3", "1_000", " 1", "--1", "1-2", "１",
        ] {
            assert_eq!(parse_exact(t), Err(NotExact::Syntax), "{t:?}");
        }
        assert_eq!(times_pow10(d("1.5"), 3), Some(d("1500")));
        assert_eq!(times_pow10(d("15"), -3), Some(d("0.015")));
        assert_eq!(times_pow10(d("100"), -30), Some(Decimal::new(1, 28)));
        assert_eq!(times_pow10(d("1"), -29), None);
        assert_eq!(times_pow10(d("1"), 29), None);
        assert_eq!(times_pow10(d("0"), 99999), Some(Decimal::ZERO));
        assert_eq!(times_pow10(d("1"), i32::MIN), None);
        assert_eq!(times_pow10(d("1"), i32::MAX), None);
        assert_eq!(percent_to_fraction(d("12.5")), Some(d("0.125")));
        assert_eq!(percent_to_fraction(Decimal::new(1, 28)), None);
        assert_eq!(
            percent_to_fraction(Decimal::new(1, 26)),
            Some(Decimal::new(1, 28))
        );
    }
}
