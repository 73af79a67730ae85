//! 2-D maps of embeddings: a figure for a report ([`svg`], [`png`]) and a self-contained
//! interactive page ([`html`]).
//!
//! The crate knows nothing of models or collections: it takes [`Point`]s already projected to
//! two dimensions (by UMAP, t-SNE or PCA), the [`Field`]s that can colour them (a cluster number,
//! a metadata string, a number) and a [`Style`], and draws them.
//!
//! ```
//! use emb_plot::{Field, Map, Point, Style};
//!
//! let map = Map {
//!     title: Some("Notes".to_owned()),
//!     points: vec![
//!         Point::new("a", 0.0, 0.0).with_text("back up the database"),
//!         Point::new("b", 0.2, 0.1).with_text("restore a backup"),
//!         Point::new("c", 5.0, 4.0).with_text("bake bread"),
//!     ],
//!     fields: vec![
//!         Field::category("cluster", [Some("0"), Some("0"), Some("1")])
//!             .with_label("0", "backup, database")
//!             .with_label("1", "bread"),
//!     ],
//! };
//! let style = Style { width: 400, height: 300, ..Style::default() };
//!
//! let svg = emb_plot::svg(&map, &style)?;
//! assert!(svg.starts_with("<svg") && svg.contains("backup, database"));
//!
//! let page = emb_plot::html(&map, &style)?;
//! assert!(page.contains("bake bread"));
//!
//! let rendered = emb_plot::png(&map, &style)?;
//! assert!(rendered.png.starts_with(b"\x89PNG"));
//! for warning in &rendered.warnings {
//!     eprintln!("{warning}");
//! }
//! # Ok::<(), emb_plot::Error>(())
//! ```
//!
//! # Fonts
//!
//! Text in the PNG is drawn with a font of the system, found through `fontdb` (the families
//! tried are in [`FONT_FAMILIES`]); on Debian the package `fonts-dejavu-core` provides one. Label
//! boxes are sized by laying the text out with the very font that renders it. When the machine
//! has no usable font, [`png`] draws the map without any text and says so in
//! [`Rendered::warnings`], and the SVG's boxes are sized by an estimate of the text's width.
#![warn(missing_docs)]

mod colour;
mod fonts;
mod html;
mod labels;
mod layout;
mod legend;
mod map;
mod png;
mod scene;
mod svg;
mod text;

pub use fonts::FONT_FAMILIES;
pub use html::{html, TEXT_LIMIT};
pub use map::{Field, Map, Point, Style, Thumbnail, Values};
pub use png::{png, Rendered, Warning};
pub use svg::svg;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a map from being drawn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// [`Style::colour_by`] names a field the map does not have.
    #[error("no field named {name:?} to colour by; the map has {available:?}")]
    UnknownField {
        /// The name asked for.
        name: String,
        /// The names of the map's fields.
        available: Vec<String>,
    },
    /// A field does not hold one value per point.
    #[error("field {field:?} has {received} values for {expected} points")]
    FieldLength {
        /// The field's name.
        field: String,
        /// The number of points.
        expected: usize,
        /// The number of values in the field.
        received: usize,
    },
    /// A point's coordinates are NaN or infinite.
    #[error("point {id:?} has a coordinate that is not a finite number")]
    NotFinite {
        /// The point's id.
        id: String,
    },
    /// The requested image size is zero or too large to allocate.
    #[error("cannot draw an image of {width}x{height} pixels")]
    Size {
        /// The requested width in pixels.
        width: u32,
        /// The requested height in pixels.
        height: u32,
    },
    /// The SVG could not be rendered to pixels (a bug in this crate if it happens).
    #[error("rendering the SVG failed: {0}")]
    Render(String),
}
