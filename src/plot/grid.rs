//! Grids of small panels for the SurVAE studies (docs/SURJECTIVE.md): 2-D point clouds
//! (rows = data sets, columns = data and models) and 8×8 (or any `h × w`) grey images.

use super::render::{write_png, FONT, GENERATED, REAL};
use super::stats::robust_range;
use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// Pixel side of one panel.
const PANEL: u32 = 180;
/// Height of the column titles and width of the row titles.
const LABEL: u32 = 28;

/// A grid of 2-D scatter panels: `cells[r][c]` are the points of row `r`, column `c`
/// (any number of rows `[x, y]`, at most 3 000 drawn per panel). Column 0 is drawn in
/// the "real" colour, the others in the "generated" one; every row shares the axis
/// ranges of its column-0 points.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("grid-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let pts: Vec<Vec<f64>> = (0..50).map(|i| vec![i as f64, (i as f64).sin()]).collect();
/// flowinfer::plot::grid::scatter_grid(dir.join("g.png"), &["a"], &["data", "model"],
///     &[vec![pts.clone(), pts]])?;
/// assert!(dir.join("g.png").exists());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scatter_grid(
    path: impl AsRef<Path>,
    rows: &[&str],
    cols: &[&str],
    cells: &[Vec<Vec<Vec<f64>>>],
) -> Result<()> {
    let path = path.as_ref();
    if cells.len() != rows.len() || cells.iter().any(|r| r.len() != cols.len()) {
        return Err(Error::Shape {
            what: format!("scatter grid {}", path.display()),
            expected: format!("{} rows of {} panels", rows.len(), cols.len()),
            got: cells.iter().map(Vec::len).collect(),
        });
    }
    if let Some(bad) = cells.iter().flatten().flatten().find(|p| p.len() != 2) {
        return Err(Error::Shape {
            what: format!("a point of scatter grid {}", path.display()),
            expected: "2 values".into(),
            got: vec![bad.len()],
        });
    }
    let size = (
        LABEL + PANEL * cols.len() as u32,
        LABEL + PANEL * rows.len() as u32,
    );
    write_png(path, size, |root| {
        let (top, body) = root.split_vertically(LABEL);
        let (_, titles) = top.split_horizontally(LABEL);
        for (c, area) in titles.split_evenly((1, cols.len())).iter().enumerate() {
            area.draw(&Text::new(
                cols[c].to_string(),
                (6, 6),
                (FONT, 15).into_font(),
            ))?;
        }
        let (left, panels) = body.split_horizontally(LABEL);
        for (r, area) in left.split_evenly((rows.len(), 1)).iter().enumerate() {
            let style = (FONT, 15)
                .into_font()
                .transform(FontTransform::Rotate270)
                .color(&BLACK);
            area.draw(&Text::new(
                rows[r].to_string(),
                (6, PANEL as i32 - 10),
                style,
            ))?;
        }
        let areas = panels.split_evenly((rows.len(), cols.len()));
        for (r, row) in cells.iter().enumerate() {
            let xr = robust_range(row[0].iter().map(|p| p[0]));
            let yr = robust_range(row[0].iter().map(|p| p[1]));
            let (Some(xr), Some(yr)) = (xr, yr) else {
                continue;
            };
            let pad = |lo: f64, hi: f64| (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo));
            let (x0, x1) = pad(xr.lo, xr.hi);
            let (y0, y1) = pad(yr.lo, yr.hi);
            for (c, pts) in row.iter().enumerate() {
                let area = &areas[r * cols.len() + c];
                area.draw(&Rectangle::new(
                    [(0, 0), (PANEL as i32 - 1, PANEL as i32 - 1)],
                    RGBColor(200, 200, 200).stroke_width(1),
                ))?;
                let mut chart = ChartBuilder::on(&area.margin(3, 3, 3, 3))
                    .build_cartesian_2d(x0..x1, y0..y1)?;
                let color = if c == 0 { REAL } else { GENERATED };
                let step = pts.len().div_ceil(3000).max(1);
                chart.draw_series(
                    pts.iter()
                        .step_by(step)
                        .filter(|p| p[0] > x0 && p[0] < x1 && p[1] > y0 && p[1] < y1)
                        .map(|p| Circle::new((p[0], p[1]), 1, color.mix(0.45).filled())),
                )?;
            }
        }
        Ok(())
    })
}

/// A grid of grey images: `images[r][c]` is one `h × w` image (row-major), drawn from
/// white (`0`) to black (`max`), values clamped; `rows` name the grid's rows.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("img-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let img: Vec<f64> = (0..64).map(|i| (i % 17) as f64).collect();
/// flowinfer::plot::grid::image_grid(dir.join("d.png"), &["data"], &[vec![img]], 8, 8, 16.0)?;
/// assert!(dir.join("d.png").exists());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn image_grid(
    path: impl AsRef<Path>,
    rows: &[&str],
    images: &[Vec<Vec<f64>>],
    h: usize,
    w: usize,
    max: f64,
) -> Result<()> {
    let path = path.as_ref();
    let cols = images.iter().map(Vec::len).max().unwrap_or(0);
    if images.len() != rows.len() || cols == 0 {
        return Err(Error::Shape {
            what: format!("image grid {}", path.display()),
            expected: format!("{} rows of images", rows.len()),
            got: images.iter().map(Vec::len).collect(),
        });
    }
    if let Some(bad) = images.iter().flatten().find(|i| i.len() != h * w) {
        return Err(Error::Shape {
            what: format!("an image of grid {}", path.display()),
            expected: format!("{h}×{w} = {} values", h * w),
            got: vec![bad.len()],
        });
    }
    let px = 8u32;
    let cell = (w as u32 * px + 4, h as u32 * px + 4);
    let name_w = 120u32;
    let size = (name_w + cell.0 * cols as u32, cell.1 * rows.len() as u32);
    write_png(path, size, |root| {
        for (r, row) in images.iter().enumerate() {
            let y0 = (r as u32 * cell.1) as i32;
            root.draw(&Text::new(
                rows[r].to_string(),
                (4, y0 + cell.1 as i32 / 2 - 8),
                (FONT, 14).into_font(),
            ))?;
            for (c, img) in row.iter().enumerate() {
                let x0 = (name_w + c as u32 * cell.0) as i32 + 2;
                for (k, v) in img.iter().enumerate() {
                    let g = (255.0 * (1.0 - (v / max).clamp(0.0, 1.0))) as u8;
                    let (i, j) = ((k / w) as i32, (k % w) as i32);
                    let (x, y) = (x0 + j * px as i32, y0 + 2 + i * px as i32);
                    root.draw(&Rectangle::new(
                        [(x, y), (x + px as i32, y + px as i32)],
                        RGBColor(g, g, g).filled(),
                    ))?;
                }
            }
        }
        Ok(())
    })
}
