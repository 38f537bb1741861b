//! Turns the CSV of `examples/select_vs_epoll.rs` into an SVG plot, written directly (no
//! Python, no plotting crate): log-log axes, cost of one wake-up against the number of idle
//! connections, one line per mechanism.
//!
//! ```text
//! cargo run --release --example select_vs_epoll
//! cargo run --release --example plot_select_vs_epoll        # target/select_vs_epoll.svg
//! cargo run --release --example plot_select_vs_epoll -- in.csv out.svg
//! ```

use std::fmt::Write as _;
use std::fs;
use std::io;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 50.0;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let input = args.next().unwrap_or_else(|| "target/select_vs_epoll.csv".into());
    let output = args.next().unwrap_or_else(|| "target/select_vs_epoll.svg".into());
    let csv = fs::read_to_string(&input)?;

    // Columns: n_idle, then one per mechanism; an empty cell is a missing point.
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); header.len().saturating_sub(1)];
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let Some(Ok(n)) = cells.first().map(|c| c.parse::<f64>()) else { continue };
        for (i, cell) in cells.iter().enumerate().skip(1) {
            if let (Ok(ns), Some(points)) = (cell.parse::<f64>(), series.get_mut(i - 1)) {
                points.push((n, ns));
            }
        }
    }
    let all = series.iter().flatten();
    let (x_min, x_max) = bounds(all.clone().map(|p| p.0));
    let (y_min, y_max) = bounds(all.map(|p| p.1));
    let x = |v: f64| LEFT + (v.log10() - x_min) / (x_max - x_min) * (WIDTH - LEFT - RIGHT);
    let y =
        |v: f64| HEIGHT - BOTTOM - (v.log10() - y_min) / (y_max - y_min) * (HEIGHT - TOP - BOTTOM);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="18" text-anchor="middle">cost of one wake-up (ns, median) vs idle connections</text>"#,
        WIDTH / 2.0
    );
    // Decade grid lines and labels.
    for decade in x_min as i32..=x_max as i32 {
        let px = x(10f64.powi(decade));
        let _ = writeln!(
            svg,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#ddd"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            10u64.pow(decade as u32)
        );
    }
    for decade in y_min as i32..=y_max as i32 {
        let py = y(10f64.powi(decade));
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            10u64.pow(decade as u32)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">idle connections (N)</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 12.0
    );
    let colors = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"];
    for (i, points) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        let name = header[i + 1].trim_end_matches("_ns");
        let path: Vec<String> =
            points.iter().map(|&(n, ns)| format!("{:.1},{:.1}", x(n), y(ns))).collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for &(n, ns) in points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                x(n),
                y(ns)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" fill="{color}">{name}</text>"#,
            LEFT + 10.0,
            TOP + 16.0 * (i as f64 + 1.0)
        );
    }
    svg.push_str("</svg>\n");
    fs::write(&output, svg)?;
    println!("wrote {output}");
    Ok(())
}

/// The whole decades (log10) that enclose `values`.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let (lo, hi) = (lo.log10().floor(), hi.log10().ceil());
    (lo, if hi > lo { hi } else { lo + 1.0 })
}
