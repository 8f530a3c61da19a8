//! Portico's chart components (design.md, Charts): SVG drawn by Rust, the same code on the
//! server (pages and the `.svg` embeds) and in the browser (tooltips, keyboard, zoom).
//!
//! Every chart has a text alternative (a table under a disclosure), a legend when it shows
//! more than one series, and is usable with the keyboard: the plot takes focus, the arrow
//! keys move a cursor whose values are shown and announced, `+`/`-` ask the page to zoom.

use leptos::prelude::*;

pub use communities::query::STALE_MATERIAL;

/// A share as a whole percentage for people.
fn percent(share: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation, reason = "0 to 100")]
    let p = (share * 100.0).round() as i64;
    p.clamp(0, 100)
}

/// Whether a point's carried-forward share is material.
fn marked(d: &TimeData, i: usize) -> bool {
    d.stale.get(i).is_some_and(|s| *s >= STALE_MATERIAL)
}

/// Chart width and height in SVG units; the SVG scales to its container's width.
pub const WIDTH: f64 = 480.0;
pub const HEIGHT: f64 = 260.0;
/// Room for the value labels left of the plot: six characters of the narrow charts' text.
const LEFT: f64 = 66.0;
/// Chart text keeps about 13 px on every screen, although the SVG scales with its column:
/// the stylesheet sets it in SVG units by the chart's width (container queries on
/// `figure.chart`, `style/portico.css`) — 13 units in the standalone SVGs, up to
/// [`FONT_NARROW`] where a chart is drawn under 460 px wide (phones), at most [`FONT_WIDE`]
/// from there on. What depends on the text's size (ticks, margins, truncation) plans for
/// these.
const FONT: f64 = 13.0;
const FONT_NARROW: f64 = 17.5;
const FONT_WIDE: f64 = 12.0;
const RIGHT: f64 = 12.0;
/// Room above the plot for the unit of its values.
const TOP: f64 = 26.0;
const BOTTOM: f64 = 28.0;

/// The charts' styles inside a standalone SVG (`/embed/<chart>.svg`); the pages get the
/// same rules from the stylesheet.
pub const SVG_STYLE: &str = ".grid{stroke:#d9d9d9;stroke-width:1}.axis{stroke:#555;stroke-width:1}\
.tick,.bar-label,.bar-value,.legend-label{font:12px sans-serif;fill:#333}.line{stroke-width:2}\
.area{fill-opacity:.85;stroke-width:.5}.stale-mark{fill:#b00}\
.country{fill:#eee;stroke:#999;stroke-width:.5;vector-effect:non-scaling-stroke}\
.site{fill-opacity:.55;stroke:#fff;stroke-width:1}.site.stale{fill-opacity:.15;stroke:#b00;stroke-dasharray:2 2}\
.bar.noted{fill-opacity:.45}.x-tick.narrow{display:none}.tap{fill:transparent}.site-label{display:none}";

/// A legend drawn inside an SVG (for the `.svg` embeds), four entries a row, starting at `top`.
/// Returns the elements and the height they take.
pub fn svg_legend(lines: &[Line], top: f64) -> (impl IntoView + use<>, f64) {
    let per_row = 4;
    let width = (WIDTH - LEFT) / 4.0;
    let items = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            #[allow(clippy::cast_precision_loss, reason = "a few entries")]
            let (x, y) = (
                LEFT + width * (i % per_row) as f64,
                top + 18.0 * (i / per_row) as f64,
            );
            view! {
                <rect x=x y=y + 2.0 width="12" height="12" fill=l.color.clone() />
                <text class="legend-label" x=x + 16.0 y=y + 12.0>{truncate(&l.label, 22)}</text>
            }
        })
        .collect_view();
    #[allow(clippy::cast_precision_loss, reason = "a few entries")]
    let height = 18.0 * lines.len().div_ceil(per_row) as f64 + 6.0;
    (items, height)
}

/// One coloured series over shared times.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: String,
    pub values: Vec<Option<f64>>,
}

/// A time chart's data: bucket starts (Unix seconds) and series over them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TimeData {
    pub t: Vec<i64>,
    pub lines: Vec<Line>,
    /// Stack the series (areas) instead of drawing lines.
    pub stacked: bool,
    /// How a time is shown (depends on the resolution).
    pub time_format: TimeFormat,
    /// The share (0 to 1) of each point's data that was carried forward after failed fetches;
    /// points at or above [`STALE_MATERIAL`] are marked on the chart.
    pub stale: Vec<f64>,
}

/// How times are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// `HH:MM:SS` (UTC), for live views over minutes.
    Clock,
    Hour,
    #[default]
    Day,
    Month,
}

impl TimeFormat {
    pub fn format(self, ts: i64) -> String {
        let (y, m, d) = civil(ts);
        match self {
            TimeFormat::Clock => {
                let s = ts.rem_euclid(86_400);
                format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
            }
            TimeFormat::Month => format!("{y:04}-{m:02}"),
            TimeFormat::Day => format!("{y:04}-{m:02}-{d:02}"),
            TimeFormat::Hour => format!(
                "{y:04}-{m:02}-{d:02} {:02}:00",
                ts.rem_euclid(86_400) / 3600
            ),
        }
    }
}

pub use communities::query::{civil, midnight};

/// A count for people (grouped by thousands).
pub fn format_count(n: i64) -> String {
    #[allow(
        clippy::cast_precision_loss,
        reason = "counts shown are far below 2^52"
    )]
    let v = n as f64;
    format_number(v)
}

/// A number for people: whole numbers grouped by thousands, else one decimal.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let rounded = (v * 10.0).round() / 10.0;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "chart values are far below i64::MAX"
    )]
    let whole = rounded.trunc() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    let sign = if rounded < 0.0 { "-" } else { "" };
    let fraction = (rounded.fract().abs() * 10.0).round();
    if fraction == 0.0 {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

/// Round tick steps (1, 2, 5 × 10^n) covering `0..=max` in about `count` steps.
pub fn ticks(max: f64, count: usize) -> Vec<f64> {
    if max <= 0.0 || !max.is_finite() {
        return vec![0.0, 1.0];
    }
    #[allow(clippy::cast_precision_loss, reason = "a handful of ticks")]
    let raw = max / count.max(1) as f64;
    let magnitude = 10_f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let mut out = Vec::new();
    let mut v = 0.0;
    while v < max + step * 0.999 {
        out.push(v);
        v += step;
    }
    out
}

/// Where times fall on the x axis.
fn x_scale(t: &[i64]) -> impl Fn(usize) -> f64 + Clone + use<> {
    let (first, last) = (
        t.first().copied().unwrap_or(0),
        t.last().copied().unwrap_or(1),
    );
    let span = (last - first).max(1);
    let times = t.to_vec();
    move |i| {
        #[allow(clippy::cast_precision_loss, reason = "Unix seconds map to pixels")]
        let f = (times.get(i).copied().unwrap_or(first) - first) as f64 / span as f64;
        if times.len() == 1 {
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0
        } else {
            LEFT + f * (WIDTH - LEFT - RIGHT)
        }
    }
}

/// The tops of each series (stacked: cumulative).
fn tops(data: &TimeData) -> Vec<Vec<Option<f64>>> {
    if !data.stacked {
        return data.lines.iter().map(|l| l.values.clone()).collect();
    }
    let mut sum = vec![0.0; data.t.len()];
    data.lines
        .iter()
        .map(|l| {
            l.values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    sum[i] += v.unwrap_or(0.0);
                    Some(sum[i])
                })
                .collect()
        })
        .collect()
}

/// A calendar step a time axis may tick by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Hours(i64),
    Days(i64),
    Months(i64),
    Years(i64),
}

/// The steps, smallest first: the axis takes the smallest whose labels fit.
const STEPS: [Step; 19] = [
    Step::Hours(1),
    Step::Hours(2),
    Step::Hours(3),
    Step::Hours(6),
    Step::Hours(12),
    Step::Days(1),
    Step::Days(2),
    Step::Days(7),
    Step::Days(14),
    Step::Months(1),
    Step::Months(2),
    Step::Months(3),
    Step::Months(6),
    Step::Years(1),
    Step::Years(2),
    Step::Years(5),
    Step::Years(10),
    Step::Years(20),
    Step::Years(50),
];

/// Estimated width of a tick label in SVG units (0.56 em per character of the 13-unit tick
/// font), with room between neighbours.
#[allow(clippy::cast_precision_loss, reason = "a short label")]
fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * FONT * 0.56 + 12.0
}

/// The calendar boundaries of `step` in `[first, last]` (UTC; weeks start on Monday).
fn boundaries(step: Step, first: i64, last: i64) -> Vec<i64> {
    const DAY: i64 = 86_400;
    let every = |size: i64, offset: i64| -> Vec<i64> {
        let start = (first - offset).div_euclid(size) * size + offset;
        let start = if start < first { start + size } else { start };
        (0..)
            .map(|k| start + k * size)
            .take_while(|t| *t <= last)
            .take(10_000)
            .collect()
    };
    match step {
        Step::Hours(n) => every(n * 3600, 0),
        // 1970-01-05 was a Monday.
        Step::Days(7 | 14) => every(step_days(step) * DAY, 4 * DAY),
        Step::Days(n) => every(n * DAY, 0),
        Step::Months(n) | Step::Years(n) => {
            let months = if let Step::Years(_) = step { n * 12 } else { n };
            let (y, m, _) = civil(first);
            let mut index = y * 12 + (m - 1);
            index = index.div_euclid(months) * months;
            let mut out = Vec::new();
            loop {
                let t = midnight(index.div_euclid(12), index.rem_euclid(12) + 1, 1);
                if t > last || out.len() >= 10_000 {
                    break;
                }
                if t >= first {
                    out.push(t);
                }
                index += months;
            }
            out
        }
    }
}

fn step_days(step: Step) -> i64 {
    match step {
        Step::Days(n) => n,
        _ => 1,
    }
}

/// A tick's label: the time of day within a day (the date at midnight), the day within a
/// year, the month within years, the year beyond.
fn tick_label(step: Step, t: i64, span: i64) -> String {
    let (y, m, d) = civil(t);
    match step {
        Step::Hours(_) if t.rem_euclid(86_400) != 0 => {
            format!("{:02}:00", t.rem_euclid(86_400) / 3600)
        }
        Step::Hours(_) | Step::Days(_) if span <= 366 * 86_400 => format!("{m:02}-{d:02}"),
        Step::Hours(_) | Step::Days(_) => format!("{y:04}-{m:02}-{d:02}"),
        Step::Months(_) => format!("{y:04}-{m:02}"),
        Step::Years(_) => format!("{y:04}"),
    }
}

/// The x-axis ticks of a chart over `[first, last]`, `width` units wide: times at calendar
/// boundaries (hours, days, weeks, months, years) with their labels, the smallest step whose
/// labels fit side by side without touching. One time alone is its own label.
pub fn time_ticks(first: i64, last: i64, width: f64, format: TimeFormat) -> Vec<(i64, String)> {
    if last <= first {
        return vec![(first, format.format(first))];
    }
    let span = last - first;
    let mut fallback = None;
    for step in STEPS {
        let ticks: Vec<(i64, String)> = boundaries(step, first, last)
            .into_iter()
            .map(|t| (t, tick_label(step, t, span)))
            .collect();
        if ticks.is_empty() {
            continue;
        }
        #[allow(clippy::cast_precision_loss, reason = "Unix seconds map to pixels")]
        let gap = |a: i64, b: i64| (b - a) as f64 / span as f64 * width;
        let fits = ticks.windows(2).all(|pair| {
            gap(pair[0].0, pair[1].0)
                >= f64::midpoint(label_width(&pair[0].1), label_width(&pair[1].1))
        });
        if fits && ticks.len() >= 2 {
            return ticks;
        }
        if fits && fallback.is_none() {
            fallback = Some(ticks);
        }
    }
    fallback.unwrap_or_else(|| vec![(first, format.format(first))])
}

/// A time chart: lines or stacked areas, axes, cursor with values, legend, table.
#[component]
pub fn TimeChart(
    /// The data; a signal so the page can zoom and refetch.
    data: Signal<TimeData>,
    /// The chart's accessible name.
    title: String,
    /// What the values are (the y axis and the table's caption); follows a selected metric.
    #[prop(into)]
    unit: Signal<String>,
    /// Called with +1 (zoom in around the cursor's time) or -1 (zoom out).
    #[prop(optional)]
    on_zoom: Option<Callback<(i32, Option<i64>)>>,
) -> impl IntoView {
    let cursor = RwSignal::new(None::<usize>);
    // A new data set moves the cursor back into range.
    Effect::new(move |_| {
        let n = data.with(|d| d.t.len());
        if cursor.get_untracked().is_some_and(|c| c >= n) {
            cursor.set(None);
        }
    });
    let on_key = keys(data, cursor, on_zoom);
    let on_pointer = move |ev: leptos::ev::PointerEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast as _;
            let Some(target) = ev
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            let rect = target.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let x = (f64::from(ev.client_x()) - rect.left()) / rect.width() * WIDTH;
            let index = data.with_untracked(|d| {
                let scale = x_scale(&d.t);
                (0..d.t.len())
                    .min_by(|a, b| (scale(*a) - x).abs().total_cmp(&(scale(*b) - x).abs()))
            });
            cursor.set(index);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let readout = move || {
        let c = cursor.get()?;
        data.with(|d| {
            let t = *d.t.get(c)?;
            let mut parts = vec![d.time_format.format(t)];
            for line in &d.lines {
                let v = line.values.get(c).copied().flatten();
                parts.push(format!(
                    "{}: {}",
                    line.label,
                    v.map_or_else(|| "–".into(), format_number)
                ));
            }
            if let Some(share) = d.stale.get(c).copied().filter(|s| *s > 0.0) {
                parts.push(crate::lang().tr_args(
                    "charts-stale-share",
                    &[("percent", percent(share).max(1).into())],
                ));
            }
            Some(parts)
        })
    };
    view! {
        <figure class="chart">
            <svg
                class="plot"
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=title
                tabindex="0"
                on:keydown=on_key
                on:pointermove=on_pointer
                on:pointerdown=on_pointer
                // A finger lifts (and leaves) after its tap: the values it asked for stay.
                on:pointerleave=move |ev: leptos::ev::PointerEvent| {
                    if ev.pointer_type() == "mouse" {
                        cursor.set(None);
                    }
                }
            >
                {move || data.with(|d| plot(d, cursor.get(), &unit.get()))}
            </svg>
            <p class="readout" aria-live="polite">
                {move || readout().map(|parts| {
                    parts.into_iter().map(|p| view! { <span>{p}</span> }).collect_view()
                })}
            </p>
            {move || data.with(|d| (d.lines.len() > 1).then(|| legend(&d.lines)))}
            {move || data.with(|d| (0..d.t.len()).any(|i| marked(d, i)).then(|| view! {
                <p class="muted stale-legend">
                    <span class="stale-swatch" aria-hidden="true"></span>
                    {crate::lang().tr_args(
                        "charts-stale-legend",
                        &[("percent", percent(STALE_MATERIAL).into())],
                    )}
                </p>
            }))}
            <details class="table-alt">
                <summary>{crate::t("charts-table")}</summary>
                {move || data.with(|d| table(d, &unit.get()))}
            </details>
        </figure>
    }
}

/// The chart's keyboard: arrows, Page Up/Down, Home/End move the cursor; `+`/`-` zoom; Escape
/// hides the cursor.
fn keys(
    data: Signal<TimeData>,
    cursor: RwSignal<Option<usize>>,
    on_zoom: Option<Callback<(i32, Option<i64>)>>,
) -> impl Fn(leptos::ev::KeyboardEvent) + Copy + 'static {
    move |ev: leptos::ev::KeyboardEvent| {
        let n = data.with_untracked(|d| d.t.len());
        if n == 0 {
            return;
        }
        let current = cursor.get_untracked();
        let next = match ev.key().as_str() {
            "ArrowRight" => Some(current.map_or(0, |c| (c + 1).min(n - 1))),
            "ArrowLeft" => Some(current.map_or(n - 1, |c| c.saturating_sub(1))),
            "PageUp" => Some(current.map_or(0, |c| (c + n.div_ceil(10)).min(n - 1))),
            "PageDown" => Some(current.map_or(n - 1, |c| c.saturating_sub(n.div_ceil(10)))),
            "Home" => Some(0),
            "End" => Some(n - 1),
            "+" | "=" | "-" => {
                if let Some(zoom) = on_zoom {
                    let at = current.and_then(|c| data.with_untracked(|d| d.t.get(c).copied()));
                    zoom.run((if ev.key() == "-" { -1 } else { 1 }, at));
                    ev.prevent_default();
                }
                None
            }
            "Escape" => {
                cursor.set(None);
                None
            }
            _ => None,
        };
        if let Some(next) = next {
            ev.prevent_default();
            cursor.set(Some(next));
        }
    }
}

/// The value axis for values up to `max`: where a value falls, and the grid with its labels.
fn y_axis(max: f64) -> (impl Fn(f64) -> f64 + Copy + use<>, impl IntoView + use<>) {
    let y_ticks = ticks(max, 4);
    let y_max = y_ticks.last().copied().unwrap_or(1.0).max(1.0);
    let y = move |v: f64| TOP + (1.0 - v / y_max) * (HEIGHT - TOP - BOTTOM);
    let grid = y_ticks
        .iter()
        .map(|v| {
            let py = y(*v);
            view! {
                <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=py y2=py />
                <text class="tick" x=LEFT - 6.0 y=py + 4.0 text-anchor="end">{format_number(*v)}</text>
            }
        })
        .collect_view();
    (y, grid)
}

/// An area between `top` and `below` (stacked series).
fn area_path(
    top: &[Option<f64>],
    below: &[f64],
    x: &impl Fn(usize) -> f64,
    y: &impl Fn(f64) -> f64,
) -> String {
    use std::fmt::Write as _;
    let mut path = String::new();
    for (i, v) in top.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { "L" },
            x(i),
            y(v.unwrap_or(0.0))
        );
    }
    for (i, b) in below.iter().enumerate().rev() {
        let _ = write!(path, "L{:.1},{:.1}", x(i), y(*b));
    }
    path.push('Z');
    path
}

/// A line through the values, lifting the pen over gaps (`None`).
fn line_path(values: &[Option<f64>], x: &impl Fn(usize) -> f64, y: &impl Fn(f64) -> f64) -> String {
    use std::fmt::Write as _;
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1}",
                    if pen_down { "L" } else { "M" },
                    x(i),
                    y(*v)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    path
}

/// Where a time label hangs from its tick: centred, unless that would run past an edge of the
/// chart, then from its start (left edge) or its end (right edge). The width is estimated at
/// 0.56 em per character of the tick text (`font` units).
fn tick_anchor(px: f64, label: &str, font: f64) -> &'static str {
    #[allow(clippy::cast_precision_loss, reason = "a short label")]
    let half = label.chars().count() as f64 * font * 0.56 / 2.0;
    if px - half < 0.0 {
        "start"
    } else if px + half > WIDTH {
        "end"
    } else {
        "middle"
    }
}

/// The values with no value on either side (a series reported now and then): a line cannot
/// show them, a dot does.
fn isolated(values: &[Option<f64>]) -> Vec<(usize, f64)> {
    let known = |i: Option<usize>| i.and_then(|i| values.get(i).copied().flatten()).is_some();
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let v = (*v)?;
            (!known(i.checked_sub(1)) && !known(i.checked_add(1))).then_some((i, v))
        })
        .collect()
}

/// The SVG content of a time chart (also the server's `.svg` embeds); `unit` names what the
/// values are, above the y axis.
pub fn plot(d: &TimeData, cursor: Option<usize>, unit: &str) -> impl IntoView + use<> {
    let x = x_scale(&d.t);
    let tops = tops(d);
    let max = tops
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max);
    let (y, grid) = y_axis(max);
    let (first, last) = (
        d.t.first().copied().unwrap_or(0),
        d.t.last().copied().unwrap_or(0),
    );
    let plot_width = WIDTH - LEFT - RIGHT;
    // The labels at the narrow charts' text size, and at the wide ones': one set when they
    // agree, else both (the stylesheet shows the one for the chart's width).
    let sized = |font: f64| time_ticks(first, last, plot_width * FONT / font, d.time_format);
    let (narrow, wide) = (sized(FONT_NARROW), sized(FONT_WIDE));
    let sets = if narrow == wide {
        vec![(narrow, "tick x-tick", FONT_NARROW)]
    } else {
        vec![
            (narrow, "tick x-tick narrow", FONT_NARROW),
            (wide, "tick x-tick wide", FONT_WIDE),
        ]
    };
    let x_ticks = sets
        .into_iter()
        .flat_map(|(ticks, class, font)| {
            ticks.into_iter().map(move |(t, label)| {
                #[allow(clippy::cast_precision_loss, reason = "Unix seconds map to pixels")]
                let px = if last > first {
                    LEFT + (t - first) as f64 / (last - first) as f64 * plot_width
                } else {
                    LEFT + plot_width / 2.0
                };
                let anchor = tick_anchor(px, &label, font);
                view! { <text class=class x=px y=HEIGHT - 8.0 text-anchor=anchor>{label}</text> }
            })
        })
        .collect_view();
    let shapes = tops
        .iter()
        .enumerate()
        .rev()
        .map(|(k, top)| {
            let color = d.lines[k].color.clone();
            if d.stacked {
                let below: Vec<f64> = if k == 0 {
                    vec![0.0; d.t.len()]
                } else {
                    tops[k - 1].iter().map(|v| v.unwrap_or(0.0)).collect()
                };
                let path = area_path(top, &below, &x, &y);
                view! { <path class="area" d=path fill=color.clone() stroke=color /> }.into_any()
            } else {
                let path = line_path(top, &x, &y);
                // A value without a neighbour has no line to be part of: it draws as a dot.
                let dots = isolated(top)
                    .into_iter()
                    .map(|(i, v)| view! { <circle class="point" cx=x(i) cy=y(v) r="5" fill=color.clone() /> })
                    .collect_view();
                view! { <path class="line" d=path stroke=color.clone() fill="none" /> {dots} }
                    .into_any()
            }
        })
        .collect_view();
    let stale_marks = (0..d.t.len())
        .filter(|i| marked(d, *i))
        .map(|i| view! { <rect class="stale-mark" x=x(i) - 1.0 y=HEIGHT - BOTTOM width="2" height="4" /> })
        .collect_view();
    let cursor_view = cursor.filter(|c| *c < d.t.len()).map(|c| {
        let px = x(c);
        let dots = tops
            .iter()
            .zip(&d.lines)
            .filter_map(|(top, line)| {
                top.get(c)
                    .copied()
                    .flatten()
                    .map(|v| (v, line.color.clone()))
            })
            .map(
                |(v, color)| view! { <circle class="cursor-dot" cx=px cy=y(v) r="4" fill=color /> },
            )
            .collect_view();
        view! { <line class="cursor" x1=px x2=px y1=TOP y2=HEIGHT - BOTTOM /> {dots} }
    });
    let unit = unit.to_owned();
    view! {
        <text class="tick y-unit" x=LEFT y=TOP - 10.0 text-anchor="start">{unit}</text>
        {grid}
        <line class="axis" x1=LEFT x2=WIDTH - RIGHT y1=HEIGHT - BOTTOM y2=HEIGHT - BOTTOM />
        {x_ticks}
        {shapes}
        {stale_marks}
        {cursor_view}
    }
}

/// Swatches and labels, in the series' order.
pub fn legend(lines: &[Line]) -> impl IntoView + use<> {
    let items = lines
        .iter()
        .map(|l| {
            // An SVG swatch: the colour is a presentation attribute, which the pages' CSP
            // (no inline styles) allows.
            view! {
                <li>
                    <svg class="swatch" viewBox="0 0 14 14" width="14" height="14" aria-hidden="true">
                        <rect width="14" height="14" rx="3" fill=l.color.clone() />
                    </svg>
                    {l.label.clone()}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="legend">{items}</ul> }
}

fn table(d: &TimeData, unit: &str) -> impl IntoView + use<> {
    let header = d
        .lines
        .iter()
        .map(|l| view! { <th scope="col">{l.label.clone()}</th> })
        .collect_view();
    let rows = d
        .t
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let cells = d
                .lines
                .iter()
                .map(|l| view! { <td>{l.values.get(i).copied().flatten().map(format_number).unwrap_or_default()}</td> })
                .collect_view();
            let stale = d.stale.get(i).copied().filter(|s| *s > 0.0).map(|share| {
                crate::lang().tr_args("charts-stale-share", &[("percent", percent(share).max(1).into())])
            });
            view! { <tr><th scope="row">{d.time_format.format(*t)} {stale.map(|s| format!(" ({s})"))}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="scroll">
            <table>
                <caption>{unit.to_owned()}</caption>
                <thead><tr><th scope="col">{crate::t("charts-time")}</th>{header}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub color: String,
    /// Shown after the value (e.g. "stale").
    pub note: Option<String>,
    /// Where the bar's label links to.
    pub href: Option<String>,
}

/// Horizontal bars with their labels and values written out (top lists).
pub fn hbars(bars: &[Bar], label: &str) -> impl IntoView + use<> {
    let max = bars
        .iter()
        .map(|b| b.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    // Each bar under its name: a name has the chart's whole width, whatever the text size.
    let row = 50.0;
    #[allow(clippy::cast_precision_loss, reason = "a few bars")]
    let height = row * bars.len() as f64 + 4.0;
    let value_of = |b: &Bar| {
        format!(
            "{}{}",
            format_number(b.value),
            b.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )
    };
    // The longest value written after its bar, at the narrow charts' text size, stays inside.
    #[allow(clippy::cast_precision_loss, reason = "a short label")]
    let value_room = bars
        .iter()
        .map(|b| value_of(b).chars().count() as f64 * FONT_NARROW * 0.56 + 10.0)
        .fold(60.0, f64::max);
    // As many characters of a name as fit the width at that size (the whole name is in the
    // bar's title and the table).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small count"
    )]
    let name_chars = (WIDTH / (FONT_NARROW * 0.56)) as usize;
    let items = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            #[allow(clippy::cast_precision_loss, reason = "a few bars")]
            let top = 4.0 + row * i as f64;
            let width = (b.value / max) * (WIDTH - value_room).max(40.0);
            let value = value_of(b);
            let title = format!("{}: {value}", b.label);
            let label = truncate(&b.label, name_chars);
            let text = match &b.href {
                Some(href) => view! { <a href=href.clone()><text class="bar-label" x="0" y=top + 18.0>{label}</text></a> }.into_any(),
                None => view! { <text class="bar-label" x="0" y=top + 18.0>{label}</text> }.into_any(),
            };
            let class = if b.note.is_some() { "bar noted" } else { "bar" };
            view! {
                <g>
                    <title>{title}</title>
                    {text}
                    <rect class=class x="0" y=top + 25.0 width=width.max(1.0) height="18" fill=b.color.clone() />
                    <text class="bar-value" x=width.max(1.0) + 6.0 y=top + 40.0>{value}</text>
                </g>
            }
        })
        .collect_view();
    // A group, not an image: the names are links.
    view! { <svg class="plot" viewBox=format!("0 0 {WIDTH} {height}") role="group" aria-label=label.to_owned()>{items}</svg> }
}

/// One slot of a profile (an hour of day, a weekday): its value relative to the mean (1 is
/// the mean), `None` where too few days or weeks had it, and how many did.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub label: String,
    pub value: Option<f64>,
    pub samples: u32,
}

/// A value relative to the mean as a signed percentage for people ("+4 %", "−12 %").
pub fn deviation(value: f64) -> String {
    let p = (value - 1.0) * 100.0;
    let rounded = (p * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "±0\u{a0}%".to_owned()
    } else if rounded > 0.0 {
        format!("+{}\u{a0}%", format_number(rounded))
    } else {
        format!("−{}\u{a0}%", format_number(-rounded))
    }
}

/// A profile: one bar per slot, up or down from the mean (the axis at 0 %), labels under
/// them; a slot without enough data is a gap marked with a dash. `samples` names what each
/// slot's sample size counts ("days", "weeks") in its tooltip.
pub fn profile(slots: &[Slot], label: &str, unit: &str, samples: &str) -> impl IntoView + use<> {
    let reach = slots
        .iter()
        .filter_map(|s| s.value)
        .map(|v| ((v - 1.0) * 100.0).abs())
        .fold(0.0_f64, f64::max);
    let steps = ticks(reach.max(1.0), 2);
    let top = steps.last().copied().unwrap_or(1.0);
    let mid = TOP + (HEIGHT - TOP - BOTTOM) / 2.0;
    let y = move |percent: f64| mid - percent / top * (HEIGHT - TOP - BOTTOM) / 2.0;
    let grid = steps
        .iter()
        .flat_map(|v| if *v == 0.0 { vec![0.0] } else { vec![*v, -*v] })
        .map(|v| {
            let py = y(v);
            let text = if v == 0.0 {
                "0".to_owned()
            } else {
                deviation(1.0 + v / 100.0)
            };
            view! {
                <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=py y2=py />
                <text class="tick" x=LEFT - 6.0 y=py + 4.0 text-anchor="end">{text}</text>
            }
        })
        .collect_view();
    #[allow(clippy::cast_precision_loss, reason = "a few bars")]
    let slot = (WIDTH - LEFT - RIGHT) / slots.len().max(1) as f64;
    let every = if slots.len() > 12 { 3 } else { 1 };
    let items = slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            #[allow(clippy::cast_precision_loss, reason = "a few bars")]
            let left = LEFT + slot * i as f64;
            let count = format!("{} {samples}", s.samples);
            let (title, mark) = if let Some(v) = s.value {
                let (a, b) = (y(0.0), y((v - 1.0) * 100.0));
                let bar = view! { <rect class="bar" x=left + slot * 0.1 y=a.min(b) width=slot * 0.8 height=(a - b).abs().max(1.0) fill=communities::colors::PRIMARY /> };
                (format!("{}: {} ({count})", s.label, deviation(v)), bar.into_any())
            } else {
                let dash = view! { <text class="tick gap" x=left + slot / 2.0 y=mid + 4.0 text-anchor="middle">"–"</text> };
                (format!("{}: – ({count})", s.label), dash.into_any())
            };
            let label = (i % every == 0).then(|| {
                view! { <text class="tick" x=left + slot / 2.0 y=HEIGHT - 8.0 text-anchor="middle">{s.label.clone()}</text> }
            });
            view! {
                <g>
                    <title>{title}</title>
                    {mark}
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="plot" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label.to_owned()>
            {grid}
            <line class="axis" x1=LEFT x2=WIDTH - RIGHT y1=mid y2=mid />
            <text class="tick y-unit" x=LEFT y=TOP - 10.0 text-anchor="start">{unit.to_owned()}</text>
            {items}
        </svg>
    }
}

/// A profile as a table (its text alternative): each slot's value and sample size.
pub fn profile_table(
    slots: &[Slot],
    what: &str,
    unit: &str,
    samples: &str,
) -> impl IntoView + use<> {
    let rows = slots
        .iter()
        .map(|s| {
            view! { <tr><th scope="row">{s.label.clone()}</th><td>{s.value.map_or_else(|| "–".to_owned(), deviation)}</td><td>{s.samples}</td></tr> }
        })
        .collect_view();
    table_alt(&[what, unit, samples], rows)
}

/// A table of bars (the text alternative of bar charts).
pub fn bar_table(bars: &[Bar], what: &str, unit: &str) -> impl IntoView + use<> {
    let rows = bars
        .iter()
        .map(|b| {
            let note = b.note.as_ref().map(|n| format!(" ({n})"));
            view! { <tr><th scope="row">{b.label.clone()}</th><td>{format_number(b.value)}{note}</td></tr> }
        })
        .collect_view();
    table_alt(&[what, unit], rows)
}

/// A bar chart's text alternative: a table with these column heads under a disclosure.
fn table_alt<R: IntoView + 'static>(heads: &[&str], rows: R) -> impl IntoView + use<R> {
    let heads = heads
        .iter()
        .map(|h| view! { <th scope="col">{(*h).to_owned()}</th> })
        .collect_view();
    view! {
        <details class="table-alt">
            <summary>{crate::t("charts-table")}</summary>
            <div class="scroll">
                <table>
                    <thead><tr>{heads}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </details>
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_labels_at_the_edges_stay_inside_the_chart() {
        assert_eq!(tick_anchor(LEFT, "2016-03-10 10:00", FONT_NARROW), "start");
        assert_eq!(tick_anchor(LEFT, "2016-03-10 10:00", FONT), "middle");
        assert_eq!(tick_anchor(WIDTH / 2.0, "2016-03-10 10:00", FONT), "middle");
        assert_eq!(tick_anchor(WIDTH - RIGHT, "2016-03-13 10:00", FONT), "end");
        assert_eq!(tick_anchor(WIDTH - RIGHT, "Mar", FONT), "middle");
    }

    /// The ticks over `[first, last]` never overlap (centred labels, estimated widths) and sit
    /// on calendar boundaries.
    fn check_ticks(first: i64, last: i64, expect: &[&str]) {
        let width = WIDTH - LEFT - RIGHT;
        let ticks = time_ticks(first, last, width, TimeFormat::Day);
        assert!(ticks.len() >= 2, "{ticks:?}");
        #[allow(clippy::cast_precision_loss, reason = "test arithmetic")]
        let px = |t: i64| (t - first) as f64 / (last - first) as f64 * width;
        for pair in ticks.windows(2) {
            let room = px(pair[1].0) - px(pair[0].0);
            let need = f64::midpoint(label_width(&pair[0].1), label_width(&pair[1].1));
            assert!(room >= need, "{pair:?} overlap: {room} < {need}");
        }
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(&labels[..expect.len()], expect, "{labels:?}");
    }

    #[test]
    fn ticks_fall_on_calendar_boundaries_and_never_overlap() {
        let day = midnight(2016, 3, 23);
        // A day of hours: every 3 or so hours, midnight named by its date.
        check_ticks(day - 3600 * 5 + 1234, day + 3600 * 20, &[]);
        let hours = time_ticks(
            day - 3600 * 5 + 1234,
            day + 3600 * 20,
            418.0,
            TimeFormat::Hour,
        );
        assert!(hours.iter().all(|(t, _)| t % 3600 == 0), "{hours:?}");
        assert!(hours.iter().any(|(_, l)| l == "03-23"), "{hours:?}");
        // A month of days, a year of days (months), ten years (years).
        check_ticks(day, day + 30 * 86_400, &[]);
        check_ticks(
            midnight(2015, 3, 20),
            midnight(2016, 3, 20),
            &["2015-05", "2015-07"],
        );
        check_ticks(midnight(2006, 5, 1), midnight(2016, 3, 23), &[]);
        let years = time_ticks(
            midnight(2006, 5, 1),
            midnight(2016, 3, 23),
            418.0,
            TimeFormat::Month,
        );
        assert!(years.iter().all(|(_, l)| l.len() == 4), "{years:?}");
        // A single time is its own label.
        assert_eq!(
            time_ticks(day, day, 418.0, TimeFormat::Day),
            [(day, "2016-03-23".to_owned())]
        );
    }

    #[test]
    fn values_without_neighbours_are_dots_and_gaps_lift_the_pen() {
        let values = [
            Some(586.0),
            None,
            None,
            Some(962.0),
            Some(970.0),
            None,
            Some(1.0),
        ];
        assert_eq!(isolated(&values), [(0, 586.0), (6, 1.0)]);
        assert_eq!(isolated(&[Some(5.0)]), [(0, 5.0)]);
        assert_eq!(isolated(&[None, None]), []);
        let path = line_path(&values, &|i| f64::from(u32::try_from(i).unwrap()), &|v| v);
        assert_eq!(path, "M0.0,586.0M3.0,962.0L4.0,970.0M6.0,1.0");
    }

    #[test]
    fn numbers_dates_and_ticks_read_well() {
        assert_eq!(format_number(29_770.0), "29\u{202f}770");
        assert_eq!(format_number(12.34), "12.3");
        assert_eq!(format_number(-1_500.0), "-1\u{202f}500");
        assert_eq!(civil(1_458_759_661), (2016, 3, 23));
        assert_eq!(TimeFormat::Hour.format(1_458_759_661), "2016-03-23 19:00");
        assert_eq!(TimeFormat::Clock.format(1_458_759_661), "19:01:01");
        assert_eq!(ticks(29_770.0, 4), [0.0, 10_000.0, 20_000.0, 30_000.0]);
        assert_eq!(ticks(0.0, 4), [0.0, 1.0]);
    }
}
