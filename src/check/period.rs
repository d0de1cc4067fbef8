//! Accumulator periods: `per year`, `per lifetime`, or `per claim.field` (an episode keyed
//! by a text or int field of the input). Every accumulator must declare one (`E0406`); a
//! period that names neither a known word nor a field of the input is `E0407`.

use super::Checker;
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::ir::AccumPeriod;
use crate::source::Span;
use crate::syntax::ast::Ident;
use crate::types::{Show, Type};

const WORDS: [&str; 2] = ["year", "lifetime"];

impl Checker<'_> {
    /// The period of accumulator `name`, from the words after `per`.
    pub(crate) fn accum_period(
        &mut self,
        name: &Ident,
        period: Option<&(Vec<Ident>, Span)>,
    ) -> AccumPeriod {
        let Some((words, span)) = period else {
            self.err(
                Diagnostic::new(
                    Code::NoPeriod,
                    name.span,
                    format!("accumulator `{}` declares no period", name.name),
                )
                .label("starts again at 0 when?")
                .help(
                    "write `per year` (each calendar year of the evaluation date), \
                     `per claim.episode_id` (each episode, keyed by a claim field) or \
                     `per lifetime` (never) after its type",
                ),
            );
            return AccumPeriod::Lifetime;
        };
        let [first, rest @ ..] = words.as_slice() else {
            return AccumPeriod::Lifetime;
        };
        if rest.is_empty() {
            return match first.name.as_str() {
                "year" => AccumPeriod::Year,
                "lifetime" => AccumPeriod::Lifetime,
                other => {
                    let input = self.rs.input.as_ref().map(|(n, _)| n.clone());
                    let hint = match did_you_mean(other, WORDS) {
                        Some(w) => format!("did you mean `{w}`?"),
                        None => format!(
                            "a period is `year`, `lifetime` or a field of the input, such as \
                             `{}.episode_id`",
                            input.as_deref().unwrap_or("claim")
                        ),
                    };
                    self.err(
                        Diagnostic::new(
                            Code::BadPeriod,
                            first.span,
                            format!("`{other}` is not a period"),
                        )
                        .label("not `year`, `lifetime` or a claim field")
                        .help(hint),
                    );
                    AccumPeriod::Lifetime
                }
            };
        }
        self.episode_key(first, rest, *span)
    }

    /// `per claim.a.b`: a path from the input down to a text or int field.
    fn episode_key(&mut self, first: &Ident, rest: &[Ident], span: Span) -> AccumPeriod {
        let text = std::iter::once(first)
            .chain(rest)
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let fallback = AccumPeriod::Lifetime;
        let Some((input, ty)) = self.rs.input.clone() else {
            self.err(
                Diagnostic::new(
                    Code::BadPeriod,
                    span,
                    "an episode is keyed by a field of the input, but the ruleset declares none",
                )
                .label("no input to read")
                .help("declare the claim: `input claim: Claim`"),
            );
            return fallback;
        };
        if first.name != input {
            self.err(
                Diagnostic::new(
                    Code::BadPeriod,
                    first.span,
                    format!("an episode key is a field of the input `{input}`"),
                )
                .label(format!("not `{input}`"))
                .help(format!("write `per {input}.FIELD`")),
            );
            return fallback;
        }
        let mut ty = ty;
        let mut path = Vec::new();
        for field in rest {
            let Type::Record(id) = ty.unwrap_optional().clone() else {
                self.err(
                    Diagnostic::new(
                        Code::BadPeriod,
                        field.span,
                        format!("`{}` has no fields", path_text(&input, &path)),
                    )
                    .label("not a record"),
                );
                return fallback;
            };
            let fields = self
                .rs
                .records
                .get(id as usize)
                .map(|r| r.fields.clone())
                .unwrap_or_default();
            let Some(f) = fields.iter().find(|f| f.name == field.name) else {
                let record = self
                    .rs
                    .records
                    .get(id as usize)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                self.err(
                    Diagnostic::new(
                        Code::BadPeriod,
                        field.span,
                        format!("record `{record}` has no field `{}`", field.name),
                    )
                    .label("no such field")
                    .suggest(did_you_mean(
                        &field.name,
                        fields.iter().map(|f| f.name.as_str()),
                    ))
                    .help_if_none(format!(
                        "the claim schema names an episode in a field such as `episode_id`; \
                         declare it in `{record}` as `episode_id: text?`"
                    )),
                );
                return fallback;
            };
            path.push(f.name.clone());
            ty = f.ty.clone();
        }
        if !matches!(ty.unwrap_optional(), Type::Text | Type::Int | Type::Error) {
            self.err(
                Diagnostic::new(
                    Code::BadPeriod,
                    span,
                    format!(
                        "`{text}` is {}; an episode key is text or int",
                        Show(&ty, &self.rs)
                    ),
                )
                .label("cannot key an episode")
                .help("key episodes by an identifier, such as `episode_id: text?`"),
            );
            return fallback;
        }
        AccumPeriod::Episode { path, text }
    }
}

fn path_text(input: &str, path: &[String]) -> String {
    std::iter::once(input)
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(".")
}

trait HelpIfNone {
    fn help_if_none(self, help: String) -> Self;
}

impl HelpIfNone for Diagnostic {
    fn help_if_none(self, help: String) -> Diagnostic {
        if self.help.is_some() {
            self
        } else {
            self.help(help)
        }
    }
}
