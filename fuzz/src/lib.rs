//! Shared by the fuzz targets: one fuzz input carries several action inputs.
//!
//! The input is split at NUL bytes, one piece per action input in a fixed order per target. A
//! runner can never pass a NUL inside an input (inputs arrive as environment variables), so the
//! separator costs the fuzzer nothing it could otherwise reach. A missing piece is an input nobody
//! gave (`None`); an empty one is what the runner passes for it (`Some("")`).

/// The pieces of a fuzz input, in order.
pub struct Fields<'a> {
    pieces: std::str::Split<'a, char>,
}

impl<'a> Fields<'a> {
    /// `None` when the input is not UTF-8: clap refuses such an input before any parser runs.
    pub fn new(data: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(data).ok()?;
        Some(Self {
            pieces: text.split('\0'),
        })
    }

    /// The next action input, or `None` once the pieces run out.
    #[allow(clippy::should_implement_trait)] // an Option<String> per call reads better here
    pub fn next(&mut self) -> Option<String> {
        self.pieces.next().map(str::to_owned)
    }

    /// The next piece as text (empty once the pieces run out).
    pub fn next_str(&mut self) -> &'a str {
        self.pieces.next().unwrap_or("")
    }
}
