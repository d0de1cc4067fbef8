//! The impact report as one self-contained HTML page (`rulec impact --format html`): the
//! counts, the totals, the largest changes with their explanations, the failures, and two
//! SVG charts drawn by `plotters` (a histogram of the per-claim deltas and a bar chart of
//! each fund under both rules). No script, no external file: the page opens anywhere.

use crate::impact::{signed, Compare, Distribution, Report, Version};
use plotters::prelude::*;
use std::fmt::Write as _;

/// Rows of the failure table shown in the page; the JSON report has every one.
const MAX_FAILURE_ROWS: usize = 1000;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn f64_of(d: rust_decimal::Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

/// The histogram of a distribution as SVG (the numbers are drawn, not computed, in floats).
fn histogram_svg(d: &Distribution, what: &str) -> String {
    let mut svg = String::new();
    let (Some(first), Some(last)) = (d.histogram.first(), d.histogram.last()) else {
        return svg;
    };
    let (lo, hi) = (f64_of(first.from.0), f64_of(last.to.0));
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let top = d
        .histogram
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    {
        let root = SVGBackend::with_string(&mut svg, (760, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .caption(
                format!("Per-{what} change of fund_pays (reform − base)"),
                ("sans-serif", 18),
            )
            .build_cartesian_2d(lo..hi, 0f64..top * 1.08);
        if let Ok(mut chart) = chart {
            let _ = chart
                .configure_mesh()
                .x_desc("delta (CNY)")
                .y_desc(format!("{what}s"))
                .disable_x_mesh()
                .draw();
            let bars = d.histogram.iter().map(|b| {
                Rectangle::new(
                    [(f64_of(b.from.0), 0.0), (f64_of(b.to.0), b.count as f64)],
                    RGBColor(52, 101, 164).filled(),
                )
            });
            let _ = chart.draw_series(bars);
        }
        let _ = root.present();
    }
    svg
}

/// Each fund that pays anything, base and reform side by side, as SVG.
fn funds_svg(funds: &[(&String, &Compare)]) -> String {
    let mut svg = String::new();
    if funds.is_empty() {
        return svg;
    }
    let top = funds
        .iter()
        .map(|(_, c)| f64_of(c.base.0).max(f64_of(c.reform.0)))
        .fold(0.0, f64::max)
        .max(1.0);
    let bottom = funds
        .iter()
        .map(|(_, c)| f64_of(c.base.0).min(f64_of(c.reform.0)))
        .fold(0.0, f64::min);
    let names: Vec<String> = funds.iter().map(|(n, _)| (*n).clone()).collect();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 360)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .caption("Paid by each fund", ("sans-serif", 18))
            .build_cartesian_2d(-0.5f64..(funds.len() as f64 - 0.5), bottom..top * 1.1);
        if let Ok(mut chart) = chart {
            let _ = chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(funds.len())
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_desc("CNY")
                .draw();
            let base = RGBColor(136, 138, 133);
            let reform = RGBColor(52, 101, 164);
            let _ = chart
                .draw_series(funds.iter().enumerate().map(|(i, (_, c))| {
                    let x = i as f64;
                    Rectangle::new([(x - 0.35, 0.0), (x, f64_of(c.base.0))], base.filled())
                }))
                .map(|s| {
                    s.label("base").legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], base.filled())
                    })
                });
            let _ = chart
                .draw_series(funds.iter().enumerate().map(|(i, (_, c))| {
                    let x = i as f64;
                    Rectangle::new([(x, 0.0), (x + 0.35, f64_of(c.reform.0))], reform.filled())
                }))
                .map(|s| {
                    s.label("reform").legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], reform.filled())
                    })
                });
            let _ = chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw();
        }
        let _ = root.present();
    }
    svg
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2rem auto;max-width:60rem;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.pos{color:#a40000}.neg{color:#2e7d32}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem}
.card b{display:block;font-size:1.4rem}.muted{color:#666;font-size:.9rem}figure{margin:1rem 0}
.chart svg{max-width:100%;height:auto}code{font-size:.9em}";

fn delta_cell(d: rust_decimal::Decimal) -> String {
    let class = if d > rust_decimal::Decimal::ZERO {
        "n pos"
    } else if d < rust_decimal::Decimal::ZERO {
        "n neg"
    } else {
        "n"
    };
    format!("<td class=\"{class}\">{}</td>", esc(&signed(d)))
}

fn version_text(v: &Option<Version>) -> String {
    match v {
        None => "—".into(),
        Some(v) => {
            let mut s = esc(&v.value);
            if let Some(p) = &v.period {
                let _ = write!(s, " <span class=\"muted\">({})</span>", esc(p));
            }
            if let Some(c) = &v.cite {
                let _ = write!(s, "<br/><span class=\"muted\">{}</span>", esc(c));
            }
            s
        }
    }
}

/// Renders the report as one HTML page.
pub fn render(r: &Report, base: &str, reform: &str, claims: &str) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>rulec impact: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(reform)
    );
    let _ = writeln!(
        o,
        "<h1>Impact of <code>{}</code> over <code>{}</code></h1>\n<p class=\"muted\">Claims: \
         <code>{}</code>. Each side replays every person's claims in date order with its own \
         accumulators. Amounts in CNY; a claim that failed on either side counts in neither \
         total.</p>",
        esc(reform),
        esc(base),
        esc(claims)
    );
    let fund_delta = r
        .totals
        .get("fund_pays")
        .map(|c| c.delta.0)
        .unwrap_or_default();
    let _ = writeln!(o, "<div class=\"cards\">");
    for (label, value) in [
        ("claims", r.claims.to_string()),
        ("claims changed", r.claims_changed.to_string()),
        ("claims failed", r.claims_failed.to_string()),
        ("insured persons", r.insured.to_string()),
        ("persons affected", r.insured_affected.to_string()),
        ("change of fund_pays", signed(fund_delta)),
    ] {
        let _ = writeln!(
            o,
            "<div class=\"card\"><b>{}</b>{}</div>",
            esc(&value),
            esc(label)
        );
    }
    let _ = writeln!(o, "</div>");
    let _ = writeln!(
        o,
        "<h2>Funds and totals</h2>\n<table>\n<tr><th></th><th class=\"n\">base</th>\
         <th class=\"n\">reform</th><th class=\"n\">delta</th></tr>"
    );
    for (n, c) in r.funds.iter().chain(r.totals.iter()) {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}</tr>",
            esc(n),
            c.base,
            c.reform,
            delta_cell(c.delta.0)
        );
    }
    let _ = writeln!(o, "</table>");
    let paying: Vec<(&String, &Compare)> = r
        .funds
        .iter()
        .filter(|(_, c)| !c.base.0.is_zero() || !c.reform.0.is_zero())
        .collect();
    let _ = writeln!(
        o,
        "<figure class=\"chart\" id=\"funds-chart\">{}</figure>",
        funds_svg(&paying)
    );
    let _ = writeln!(o, "<h2>Distribution of the changes</h2>");
    for (d, what) in [(&r.deltas, "claim"), (&r.insured_deltas, "person")] {
        let deciles: Vec<String> = d.deciles.iter().map(|a| signed(a.0)).collect();
        let _ = writeln!(
            o,
            "<p>{} {what}s, {} changed; smallest {}, largest {}.<br/>Deciles (10% … 90%): {}</p>",
            d.count,
            d.nonzero,
            esc(&signed(d.min.0)),
            esc(&signed(d.max.0)),
            esc(&deciles.join(" · "))
        );
        let _ = writeln!(
            o,
            "<figure class=\"chart\" id=\"{what}-histogram\">{}</figure>",
            histogram_svg(d, what)
        );
    }
    if !r.insured_top.is_empty() {
        let _ = writeln!(
            o,
            "<h2>Persons with the largest change</h2>\n<table>\n<tr><th>insured</th>\
             <th class=\"n\">claims</th><th class=\"n\">delta</th></tr>"
        );
        for p in &r.insured_top {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td>{}</tr>",
                esc(&p.insured),
                p.claims,
                delta_cell(p.delta.0)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    if !r.top.is_empty() {
        let _ = writeln!(o, "<h2>Claims with the largest change</h2>");
        for t in &r.top {
            let _ = writeln!(
                o,
                "<h3>{} <span class=\"muted\">line {}, insured {}</span></h3>\n<p>fund_pays {} → \
                 {} ({})</p>",
                esc(&t.claim_id),
                t.line,
                esc(&t.insured),
                t.base,
                t.reform,
                esc(&signed(t.delta.0))
            );
            if !t.changes.is_empty() {
                let _ = writeln!(
                    o,
                    "<table>\n<tr><th>value</th><th>base</th><th>reform</th></tr>"
                );
                for c in &t.changes {
                    let _ = writeln!(
                        o,
                        "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        esc(&c.kind),
                        esc(&c.name),
                        version_text(&c.base),
                        version_text(&c.reform)
                    );
                }
                let _ = writeln!(o, "</table>");
            }
        }
    }
    let _ = writeln!(o, "<h2>Failed claims</h2>");
    if r.failed.is_empty() {
        let _ = writeln!(o, "<p>None.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table>\n<tr><th class=\"n\">line</th><th>claim</th><th>side</th><th>code</th>\
             <th>message</th></tr>"
        );
        for f in r.failed.iter().take(MAX_FAILURE_ROWS) {
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>\
                 <td>{}</td></tr>",
                f.line,
                esc(f.claim_id.as_deref().unwrap_or("")),
                f.side,
                esc(&f.code),
                esc(&f.message)
            );
        }
        let _ = writeln!(o, "</table>");
        if r.failed.len() > MAX_FAILURE_ROWS {
            let _ = writeln!(
                o,
                "<p>… and {} more; <code>--format json</code> lists every one.</p>",
                r.failed.len() - MAX_FAILURE_ROWS
            );
        }
    }
    let _ = writeln!(o, "</body>\n</html>");
    o
}
