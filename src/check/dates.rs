//! Effective dates: version order, gaps and overlaps, and "needed where none is in force".

use super::{Checker, Global};
use crate::diag::{Code, Diagnostic};
use crate::ir::NodeKind;
use crate::syntax::ast::VersionHead;
use crate::value::{Date, Period, Value};

/// A set of dates as sorted, disjoint, non-adjacent periods.
pub(crate) type Coverage = Vec<Period>;

fn normalize(mut ps: Vec<Period>) -> Coverage {
    ps.sort();
    let mut out: Coverage = Vec::new();
    for p in ps {
        match out.last_mut() {
            Some(last) if p.from <= last.until.succ() || last.until == Date::MAX => {
                if p.until > last.until {
                    last.until = p.until;
                }
            }
            _ => out.push(p),
        }
    }
    out
}

fn intersect(a: &Coverage, b: &Coverage) -> Coverage {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            if let Some(p) = x.intersect(y) {
                out.push(p);
            }
        }
    }
    normalize(out)
}

/// The first date of `p` that `c` does not cover.
fn first_uncovered(c: &Coverage, p: &Period) -> Option<Date> {
    let mut d = p.from;
    for q in c {
        if q.until < d {
            continue;
        }
        if q.from > d {
            return Some(d);
        }
        if q.until >= p.until {
            return None;
        }
        d = q.until.succ();
    }
    Some(d)
}

fn describe(c: &Coverage) -> String {
    if c.is_empty() {
        return "never".into();
    }
    c.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Checker<'_> {
    /// Checks the versions of one dated declaration and returns each version's period.
    /// A version without `until` lasts until the day before the next one starts.
    pub(crate) fn check_versions(
        &mut self,
        name: &str,
        heads: &[Option<&VersionHead>],
    ) -> Vec<Period> {
        let mut out = Vec::with_capacity(heads.len());
        for (i, h) in heads.iter().enumerate() {
            let Some(h) = h else {
                out.push(Period::ALWAYS);
                continue;
            };
            let next = heads.get(i + 1).copied().flatten();
            let until = match (h.until, next) {
                (Some((u, _)), _) => u,
                (None, Some(n)) if n.from > h.from => n.from.pred(),
                _ => Date::MAX,
            };
            if let Some((u, uspan)) = h.until {
                if u < h.from {
                    self.err(
                        Diagnostic::new(
                            Code::UntilBeforeFrom,
                            uspan,
                            format!(
                                "`{name}`: this version ends on {u}, before it starts on {}",
                                h.from
                            ),
                        )
                        .label("ends before it starts")
                        .with(h.from_span, "starts here")
                        .help("swap the dates, or fix the typo"),
                    );
                }
            }
            if let Some(n) = next {
                if n.from <= h.from {
                    self.err(
                        Diagnostic::new(
                            Code::VersionsUnordered,
                            n.from_span,
                            format!(
                                "`{name}`: versions must be in date order, but {} comes after {}",
                                n.from, h.from
                            ),
                        )
                        .label("earlier than the version above")
                        .with(h.from_span, "previous version")
                        .help("list versions from the oldest to the newest"),
                    );
                } else if let Some((u, uspan)) = h.until {
                    if u >= n.from {
                        self.err(
                            Diagnostic::new(
                                Code::VersionsOverlap,
                                n.from_span,
                                format!(
                                    "`{name}`: two versions are in force from {} to {u}",
                                    n.from
                                ),
                            )
                            .label("this version starts")
                            .with(uspan, "before the previous one ends")
                            .help(format!("end the previous version on {}", n.from.pred())),
                        );
                    } else if u.succ() < n.from {
                        self.err(
                            Diagnostic::new(
                                Code::VersionsGap,
                                uspan,
                                format!(
                                    "`{name}`: no version is in force from {} to {}",
                                    u.succ(),
                                    n.from.pred()
                                ),
                            )
                            .label("this version ends")
                            .with(n.from_span, "the next starts later")
                            .help(format!(
                                "end this version on {}, or add a version for the gap",
                                n.from.pred()
                            )),
                        );
                    }
                }
            }
            out.push(Period {
                from: h.from,
                until: until.max(h.from),
            });
        }
        out
    }

    /// When a global is in force.
    fn coverage(
        &self,
        g: Global,
        memo: &mut std::collections::HashMap<u32, Coverage>,
        visiting: &mut Vec<u32>,
    ) -> Coverage {
        let periods = |ps: Vec<Period>| normalize(ps);
        match g {
            Global::Param(i) => periods(
                self.rs
                    .params
                    .get(i as usize)
                    .map(|p| p.versions.iter().map(|v| v.period).collect())
                    .unwrap_or_default(),
            ),
            Global::Table(i) => periods(
                self.rs
                    .tables
                    .get(i as usize)
                    .map(|p| p.versions.iter().map(|v| v.period).collect())
                    .unwrap_or_default(),
            ),
            Global::Bands(i) => periods(
                self.rs
                    .bands
                    .get(i as usize)
                    .map(|p| p.versions.iter().map(|v| v.period).collect())
                    .unwrap_or_default(),
            ),
            Global::Def(i) => {
                if let Some(c) = memo.get(&i) {
                    return c.clone();
                }
                if visiting.contains(&i) {
                    return vec![Period::ALWAYS];
                }
                let Some(def) = self.rs.defs.get(i as usize) else {
                    return vec![Period::ALWAYS];
                };
                let own: Coverage = periods(def.versions.iter().map(|v| v.period).collect());
                let undated = def.versions.len() == 1
                    && def
                        .versions
                        .first()
                        .is_some_and(|v| v.period == Period::ALWAYS);
                let c = if undated {
                    visiting.push(i);
                    let mut c = own;
                    for (r, _) in self
                        .def_refs
                        .get(i as usize)
                        .and_then(|v| v.first())
                        .map(Vec::as_slice)
                        .unwrap_or(&[])
                    {
                        let rc = self.coverage(*r, memo, visiting);
                        c = intersect(&c, &rc);
                    }
                    visiting.pop();
                    c
                } else {
                    own
                };
                memo.insert(i, c.clone());
                c
            }
            Global::Function(f) => {
                // A function is in force where everything its body uses is.
                let key = self.rs.defs.len() as u32 + f;
                if let Some(c) = memo.get(&key) {
                    return c.clone();
                }
                if visiting.contains(&key) {
                    return vec![Period::ALWAYS];
                }
                visiting.push(key);
                let mut c = vec![Period::ALWAYS];
                for (r, _) in self
                    .fn_refs
                    .get(f as usize)
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let rc = self.coverage(*r, memo, visiting);
                    c = intersect(&c, &rc);
                }
                visiting.pop();
                memo.insert(key, c.clone());
                c
            }
            _ => vec![Period::ALWAYS],
        }
    }

    /// Every dated version's references must be in force for the whole version.
    pub(crate) fn check_coverage(&mut self) {
        let mut memo = std::collections::HashMap::new();
        let mut problems = Vec::new();
        for (i, def) in self.rs.defs.iter().enumerate() {
            let refs = self.def_refs.get(i).cloned().unwrap_or_default();
            for (v, vrefs) in def.versions.iter().zip(refs) {
                if v.period == Period::ALWAYS {
                    continue;
                }
                for (r, span) in vrefs {
                    let c = self.coverage(r, &mut memo, &mut Vec::new());
                    if let Some(d) = first_uncovered(&c, &v.period) {
                        problems.push((span, def.name.clone(), v.period, d, c, v.span));
                    }
                }
            }
            if def.kind != crate::ir::DefKind::Def {
                let c = self.coverage(Global::Def(i as u32), &mut memo, &mut Vec::new());
                if c.is_empty() {
                    problems.push((
                        def.span,
                        def.name.clone(),
                        Period::ALWAYS,
                        Date::MIN,
                        c,
                        def.span,
                    ));
                }
            }
        }
        for (span, name, period, date, c, vspan) in problems {
            let referenced = self.loader.map.slice(span).to_string();
            let d = if period == Period::ALWAYS {
                Diagnostic::new(
                    Code::NotInForce,
                    span,
                    format!("`{name}` is never in force: the values it uses have no common period"),
                )
                .label("never computable")
                .help("check the `from`/`until` dates of the parameters and tables it uses")
            } else {
                Diagnostic::new(Code::NotInForce, span, format!(
                    "`{referenced}` is needed on {date} by `{name}` ({period}), but it is in force {}",
                    describe(&c)
                ))
                .label(format!("no version in force on {date}"))
                .with(vspan, "this version needs it")
                .help(format!("add a version of `{referenced}` that covers {date}, or start this version later"))
            };
            self.err(d);
        }
    }

    /// `adjust` needs the base year in its series.
    pub(crate) fn check_base_years(&mut self) {
        let items = std::mem::take(&mut self.base_years);
        for (s, year, span) in items {
            let Some(series) = self.rs.series.get(s as usize) else {
                continue;
            };
            if !series.values.contains_key(&year) {
                let range = match (series.values.keys().next(), series.values.keys().last()) {
                    (Some(a), Some(b)) => format!("{a}–{b}"),
                    _ => "no years".into(),
                };
                let name = series.name.clone();
                self.err(
                    Diagnostic::new(
                        Code::SeriesBaseYear,
                        span,
                        format!("series `{name}` has no value for the base year {year}"),
                    )
                    .label("base year")
                    .with(series.span, format!("series covers {range}"))
                    .help("add the base year's index to the series"),
                );
            }
        }
    }

    /// Warns about exceptions whose condition is constantly false, or whose window lies
    /// outside the period of the definition they apply to.
    pub(crate) fn check_exception_reachability(&mut self) {
        let mut memo = std::collections::HashMap::new();
        let mut warnings = Vec::new();
        for e in &self.rs.exceptions {
            if e.target == u32::MAX {
                continue;
            }
            if matches!(e.cond.kind, NodeKind::Const(Value::Bool(false))) {
                warnings.push(
                    Diagnostic::new(
                        Code::UnreachableException,
                        e.cond.span,
                        format!(
                            "exception `{}` can never apply: its condition is always false",
                            e.name
                        ),
                    )
                    .label("always false")
                    .help("remove the exception, or fix its condition"),
                );
                continue;
            }
            let c = self.coverage(Global::Def(e.target), &mut memo, &mut Vec::new());
            if intersect(&c, &vec![e.period]).is_empty() {
                let target = self
                    .rs
                    .defs
                    .get(e.target as usize)
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                warnings.push(
                    Diagnostic::new(Code::UnreachableException, e.span, format!(
                        "exception `{}` can never apply: it is dated {} but `{target}` is in force {}",
                        e.name,
                        e.period,
                        describe(&c)
                    ))
                    .label("outside the definition's period")
                    .help("fix the exception's dates"),
                );
            }
        }
        self.diags.extend(warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap_or(Date::MIN)
    }

    #[test]
    fn coverage_math() {
        let a = normalize(vec![
            Period {
                from: d("2024-01-01"),
                until: d("2024-06-30"),
            },
            Period {
                from: d("2024-07-01"),
                until: Date::MAX,
            },
        ]);
        assert_eq!(a.len(), 1);
        let p = Period {
            from: d("2023-01-01"),
            until: d("2025-01-01"),
        };
        assert_eq!(first_uncovered(&a, &p), Some(d("2023-01-01")));
        let p = Period {
            from: d("2024-03-01"),
            until: d("2025-01-01"),
        };
        assert_eq!(first_uncovered(&a, &p), None);
    }
}
