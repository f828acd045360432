//! Rendering plumbing: the embedded font, atomic PNG writing, the shared header (title
//! and legend) and colours.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A drawing area on the PNG bitmap.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What drawing code returns; plotters' errors are turned into [`Error::File`] by
/// [`write_png`].
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `DejaVuSans-LICENSE.txt` beside it).
static FONT_TTF: &[u8] = include_bytes!("DejaVuSans.ttf");

/// The font family every text of the plots uses (registered as the embedded font).
pub(crate) const FONT: &str = "sans-serif";

/// Colour of the real (training / reference) data: matplotlib's tab:blue.
pub(crate) const REAL: RGBColor = RGBColor(31, 119, 180);
/// Colour of the generated (model) data: matplotlib's tab:orange.
pub(crate) const GENERATED: RGBColor = RGBColor(255, 127, 14);
/// Colour of reference curves (the N(0, 1) density).
pub(crate) const REFERENCE: RGBColor = RGBColor(30, 30, 30);
/// Colour of panel frames.
pub(crate) const FRAME: RGBColor = RGBColor(110, 110, 110);
/// Colour of grid lines.
pub(crate) const GRID: RGBColor = RGBColor(228, 228, 228);

/// Line colours of [`super::loss_curves`] (matplotlib's tab10 cycle).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Register the embedded font with plotters (once per process) under the family names
/// plotters' defaults use, so no text lookup ever needs a system font.
fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for family in ["sans-serif", "serif", "monospace"] {
                plotters::style::register_font(family, FontStyle::Normal, FONT_TTF)
                    .map_err(|_| "the embedded font DejaVuSans.ttf could not be parsed")?;
            }
            Ok(())
        })
        .clone()
}

/// Render a `size` (width, height) PNG with `draw` and write it to `path` atomically:
/// the image goes to a hidden temporary file in the same directory, which is then
/// renamed over `path`. Every failure (missing directory, unwritable file, a drawing
/// error, even a panic inside plotters) comes back as [`Error::File`] naming `path`, and
/// the temporary file is removed.
pub(crate) fn write_png<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    ensure_font().map_err(|m| Error::file(path, m))?;
    path.file_name()
        .ok_or_else(|| Error::file(path, "not a file path (it has no file name)"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::file(
            path,
            format!(
                "cannot write the plot: directory {} does not exist",
                dir.display()
            ),
        ));
    }
    if path.is_dir() {
        return Err(Error::file(
            path,
            "cannot write the plot: this is a directory",
        ));
    }
    // The temporary name keeps the .png extension: plotters picks the image format
    // from it.
    crate::atomic::write_atomic_with_extension(path, Some("png".as_ref()), |tmp| {
        render(tmp, size, draw)
            .map_err(|m| Error::file(path, format!("could not render the plot: {m}")))
    })
}

/// Draw onto a bitmap backed by `file` and save it, catching plotters' panics.
fn render<F>(file: &Path, size: (u32, u32), draw: F) -> std::result::Result<(), String>
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> DrawResult {
        let root = BitMapBackend::new(file, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    }));
    match outcome {
        Ok(Ok(())) => {
            if file.is_file() {
                Ok(())
            } else {
                Err("the image file was not written".into())
            }
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(format!(
            "plotting panicked: {}",
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into())
        )),
    }
}

/// A legend entry's marker.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A translucent filled box with a solid border (histograms, scatter points).
    Fill(RGBColor),
    /// A line (curves).
    Line(RGBColor),
}

/// Height in pixels of [`draw_header`]'s strip.
pub(crate) const HEADER_HEIGHT: u32 = 64;

/// Draw a title (centred, top) and a one-row legend (centred, below it) on `area`.
pub(crate) fn draw_header(
    area: &Area<'_>,
    title: &str,
    entries: &[(String, Swatch)],
) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let title_y = if entries.is_empty() { h / 2 } else { 20 };
    let title_style =
        TextStyle::from((FONT, 22).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(title.to_string(), (w / 2, title_y), title_style))?;
    if entries.is_empty() {
        return Ok(());
    }
    let font = TextStyle::from((FONT, 16).into_font());
    const SWATCH_W: i32 = 24;
    const SWATCH_GAP: i32 = 8;
    const ENTRY_GAP: i32 = 36;
    let mut widths = Vec::with_capacity(entries.len());
    for (label, _) in entries {
        let (tw, _) = area.estimate_text_size(label, &font)?;
        widths.push(tw as i32);
    }
    let total: i32 = widths
        .iter()
        .map(|tw| SWATCH_W + SWATCH_GAP + tw)
        .sum::<i32>()
        + ENTRY_GAP * (entries.len() as i32 - 1);
    let mut x = ((w - total) / 2).max(4);
    let y = h - 18;
    let label_style = font.clone().pos(Pos::new(HPos::Left, VPos::Center));
    for ((label, swatch), tw) in entries.iter().zip(widths) {
        match *swatch {
            Swatch::Fill(c) => {
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + SWATCH_W, y + 7)],
                    c.mix(0.35).filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + SWATCH_W, y + 7)],
                    c.stroke_width(2),
                ))?;
            }
            Swatch::Line(c) => {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + SWATCH_W, y)],
                    c.stroke_width(2),
                ))?;
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x + SWATCH_W + SWATCH_GAP, y),
            label_style.clone(),
        ))?;
        x += SWATCH_W + SWATCH_GAP + tw + ENTRY_GAP;
    }
    Ok(())
}

/// Draw a frame around the plotting area of `chart`.
pub(crate) fn draw_frame<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    x: super::stats::Range,
    y: super::stats::Range,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x.lo, y.lo), (x.hi, y.hi)],
        FRAME.stroke_width(1),
    )))?;
    Ok(())
}
