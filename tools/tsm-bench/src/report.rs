// SPDX-License-Identifier: GPL-2.0

//! The report of `scripts/bench`: one table of both cores' samples (min and median of the
//! repeated runs, the ratio of the medians, the goal) and an SVG chart of the connect scaling.

use crate::workload::{percentile, Result};
use std::{collections::BTreeMap, fmt::Write as _, fs, path::Path};

/// Every sample of one core, by name.
type Samples = BTreeMap<String, Vec<f64>>;

fn read_samples(path: &Path) -> Result<Samples> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_samples(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `sample NAME VALUE` lines of `text`; other lines are the guest's other output.
fn parse_samples(text: &str) -> Result<Samples> {
    let mut samples = Samples::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("sample") {
            continue;
        }
        let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("malformed sample line: {line}"));
        };
        let value: f64 = value.parse().map_err(|e| format!("{line}: {e}"))?;
        samples.entry(name.to_owned()).or_default().push(value);
    }
    Ok(samples)
}

/// Min and median of a metric's samples.
#[derive(Clone, Copy)]
struct Summary {
    min: f64,
    median: f64,
}

fn summary(samples: &Samples, metric: &str) -> Option<Summary> {
    let mut values = samples.get(metric)?.clone();
    values.sort_by(f64::total_cmp);
    Some(Summary {
        min: values[0],
        median: percentile(&values, 50.0),
    })
}

/// What a row's tsm-rs figure should meet.
#[derive(Clone, Copy)]
enum Goal {
    /// Figures only.
    None,
    /// tsm-rs' median at most this many times C's.
    RatioAtMost(f64, &'static str),
    /// tsm-rs' longest read at most a tenth of the concurrent slow connect: not blocked by it.
    NotBlockedBy(&'static str),
}

struct Row {
    label: String,
    metric: String,
    goal: Goal,
}

fn row(label: impl Into<String>, metric: impl Into<String>, goal: Goal) -> Row {
    Row {
        label: label.into(),
        metric: metric.into(),
        goal,
    }
}

/// The N of every parallel connect run either core has, ascending.
fn connect_counts(cores: [&Samples; 2]) -> Vec<u32> {
    let mut counts: Vec<u32> = cores
        .iter()
        .flat_map(|s| s.keys())
        .filter_map(|k| k.strip_prefix("connect_ms.n")?.parse().ok())
        .collect();
    counts.sort_unstable();
    counts.dedup();
    counts
}

fn rows(counts: &[u32]) -> Vec<Row> {
    let mut rows: Vec<Row> = counts
        .iter()
        .map(|&n| {
            let goal = if n == 64 {
                Goal::RatioAtMost(1.0 / 8.0, "<= 1/8 of C")
            } else {
                Goal::None
            };
            row(
                format!("1 parallel connect, N={n} (ms)"),
                format!("connect_ms.n{n}"),
                goal,
            )
        })
        .collect();
    let at_most_c = Goal::RatioAtMost(1.0, "<= C");
    rows.extend([
        row(
            "2 connect+disconnect, median (ms)",
            "cycle_median_ms",
            at_most_c,
        ),
        row("2 connect+disconnect, p99 (ms)", "cycle_p99_ms", at_most_c),
        row(
            "3 read A's tsm/connect, longest (ms)",
            "reader_max_ms",
            Goal::NotBlockedBy("reader_slow_connect_ms"),
        ),
        row(
            "3 ... while B connects (ms)",
            "reader_slow_connect_ms",
            Goal::None,
        ),
        row("4 enumeration: functions", "enum_functions", Goal::None),
        row("4 enumeration: module load (ms)", "enum_load_ms", at_most_c),
        row(
            "5 slab per connected DSM (B)",
            "slab_per_connected_bytes",
            at_most_c,
        ),
        row(
            "5 slab per enumerated function (B)",
            "slab_per_function_bytes",
            at_most_c,
        ),
        row(
            "6 core text (B)",
            "text_bytes",
            Goal::RatioAtMost(1.3, "<= 1.3x C"),
        ),
    ]);
    rows
}

fn figure(summary: Option<Summary>) -> String {
    match summary {
        None => "n/a".into(),
        Some(s) if s.min == s.median => format!("{}", Number(s.median)),
        Some(s) => format!("{} / {}", Number(s.min), Number(s.median)),
    }
}

/// A figure with as many decimals as its size deserves.
struct Number(f64);

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.abs() {
            v if v >= 100.0 => write!(f, "{:.0}", self.0),
            v if v >= 10.0 => write!(f, "{:.1}", self.0),
            _ => write!(f, "{:.2}", self.0),
        }
    }
}

pub(crate) fn run(c: &Path, rs: &Path, svg: &Path, machine: &str) -> Result {
    let (c, rs) = (read_samples(c)?, read_samples(rs)?);
    let counts = connect_counts([&c, &rs]);
    let mut out = String::new();
    let mut missing = Vec::new();
    if !machine.is_empty() {
        writeln!(out, "{machine}").ok();
    }
    writeln!(
        out,
        "{:<38} {:>17} {:>17} {:>7}  {:<14} met",
        "metric", "C min / median", "tsm-rs min / med", "rs/C", "goal"
    )
    .ok();
    for row in rows(&counts) {
        let (sc, sr) = (summary(&c, &row.metric), summary(&rs, &row.metric));
        let ratio = match (sc, sr) {
            (Some(sc), Some(sr)) if sc.median > 0.0 => Some(sr.median / sc.median),
            _ => None,
        };
        let (goal, met) = match row.goal {
            Goal::None => ("", None),
            Goal::RatioAtMost(limit, text) => (text, ratio.map(|r| r <= limit)),
            Goal::NotBlockedBy(other) => (
                "not blocked",
                sr.zip(summary(&rs, other))
                    .map(|(read, connect)| read.median * 10.0 <= connect.median),
            ),
        };
        if sc.is_none() || sr.is_none() {
            missing.push(row.metric.clone());
        }
        writeln!(
            out,
            "{:<38} {:>17} {:>17} {:>7}  {:<14} {}",
            row.label,
            figure(sc),
            figure(sr),
            ratio.map_or("n/a".into(), |r| format!("{r:.2}")),
            goal,
            match met {
                None => "",
                Some(true) => "yes",
                Some(false) => "NO",
            }
        )
        .ok();
    }
    print!("{out}");
    fs::write(svg, chart(&counts, [&c, &rs])).map_err(|e| format!("{}: {e}", svg.display()))?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no samples of a core for: {}", missing.join(", ")))
    }
}

/// Grouped bars of the median parallel connect time per N, C and tsm-rs side by side.
fn chart(counts: &[u32], cores: [&Samples; 2]) -> String {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 360.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 300.0;
    const TOP: f64 = 50.0;
    const NAMES: [(&str, &str); 2] = [("C core", "#9a9a9a"), ("tsm-rs", "#c0392b")];
    let medians: Vec<[f64; 2]> = counts
        .iter()
        .map(|n| cores.map(|s| summary(s, &format!("connect_ms.n{n}")).map_or(0.0, |s| s.median)))
        .collect();
    let top = medians.iter().flatten().fold(1.0_f64, |a, &b| a.max(b));
    let scale = (BOTTOM - TOP) / top;
    let group = (WIDTH - LEFT - 20.0) / counts.len().max(1) as f64;
    let mut svg = String::new();
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    )
    .ok();
    writeln!(
        svg,
        r#"<text x="{LEFT}" y="24" font-size="14">Parallel connect: wall time of N concurrent connects (median, ms)</text>"#
    )
    .ok();
    writeln!(
        svg,
        r#"<line x1="{LEFT}" y1="{BOTTOM}" x2="{}" y2="{BOTTOM}" stroke="black"/>"#,
        WIDTH - 20.0
    )
    .ok();
    writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
        LEFT - 6.0,
        TOP + 4.0,
        Number(top)
    )
    .ok();
    for (i, (n, pair)) in counts.iter().zip(&medians).enumerate() {
        let x0 = LEFT + group * i as f64 + group * 0.15;
        let bar = group * 0.35;
        for (j, value) in pair.iter().enumerate() {
            let h = value * scale;
            let x = x0 + bar * j as f64;
            writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"/>"#,
                BOTTOM - h,
                NAMES[j].1
            )
            .ok();
            writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                BOTTOM - h - 4.0,
                Number(*value)
            )
            .ok();
        }
        writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">N={n}</text>"#,
            x0 + bar,
            BOTTOM + 18.0
        )
        .ok();
    }
    for (j, (name, colour)) in NAMES.iter().enumerate() {
        let y = HEIGHT - 30.0 + 16.0 * j as f64 - 8.0;
        writeln!(
            svg,
            r#"<rect x="{LEFT}" y="{y}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{name}</text>"#,
            LEFT + 18.0,
            y + 10.0
        )
        .ok();
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(text: &str) -> Samples {
        parse_samples(text).unwrap()
    }

    #[test]
    fn samples_are_grouped_by_name_and_other_lines_skipped() {
        let s = samples("boot noise\nsample a 1.5\nsample b 2\nsample a 0.5\n");
        assert!(parse_samples("sample a\n").is_err());
        assert!(parse_samples("sample a x\n").is_err());
        assert_eq!(s["a"], [1.5, 0.5]);
        assert_eq!(s["b"], [2.0]);
        let a = summary(&s, "a").unwrap();
        assert_eq!((a.min, a.median), (0.5, 0.5));
        assert!(summary(&s, "c").is_none());
    }

    #[test]
    fn connect_rows_follow_the_counts_and_only_n64_has_the_scaling_goal() {
        let c = samples("sample connect_ms.n8 1\nsample connect_ms.n64 1\n");
        let rs = samples("sample connect_ms.n1 1\n");
        assert_eq!(connect_counts([&c, &rs]), [1, 8, 64]);
        let rows = rows(&[1, 64]);
        assert!(matches!(rows[0].goal, Goal::None));
        assert!(matches!(rows[1].goal, Goal::RatioAtMost(r, _) if r == 0.125));
    }

    #[test]
    fn the_chart_has_a_bar_per_core_and_count() {
        let c = samples("sample connect_ms.n1 10\nsample connect_ms.n8 80\n");
        let rs = samples("sample connect_ms.n1 10\nsample connect_ms.n8 20\n");
        let svg = chart(&[1, 8], [&c, &rs]);
        assert_eq!(svg.matches("<rect").count(), 4 + 2);
        assert!(svg.contains(">N=8<"));
    }
}
