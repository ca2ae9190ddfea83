//! How finished pixels leave the renderer: the channels kept for each pixel
//! ([`PixelLayout`]) and where rows of them go ([`RowSink`]).
//!
//! To its users an image is RGBA: files, the pixel hash and arrays all
//! see four channels. A float or colour3 result carries less, so the
//! renderer keeps only the channels that differ, and whoever reads them
//! widens them back ([`PixelLayout::rgba`]).

/// The channels kept per pixel of a finished image, and the RGBA value they
/// stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// One value v: RGBA (v, v, v, v), a float widened as every float is.
    Gray,
    /// (g, a): RGBA (g, g, g, a).
    GrayAlpha,
    /// (r, g, b): RGBA (r, g, b, 1).
    Rgb,
    /// (r, g, b, a).
    Rgba,
}

impl PixelLayout {
    /// Floats kept per pixel.
    pub fn channels(self) -> usize {
        self.kept().len()
    }

    /// The RGBA channels kept, in order: the others are copies of them, or 1.
    pub fn kept(self) -> &'static [usize] {
        match self {
            PixelLayout::Gray => &[0],
            PixelLayout::GrayAlpha => &[0, 3],
            PixelLayout::Rgb => &[0, 1, 2],
            PixelLayout::Rgba => &[0, 1, 2, 3],
        }
    }

    /// Which kept channel RGBA channel `channel` (0 to 3) is a copy of; None
    /// for an alpha of 1.
    pub fn source(self, channel: usize) -> Option<usize> {
        match (self, channel) {
            (PixelLayout::Gray, _) => Some(0),
            (PixelLayout::GrayAlpha, 3) => Some(1),
            (PixelLayout::GrayAlpha, _) => Some(0),
            (PixelLayout::Rgb, 3) => None,
            (_, c) => Some(c),
        }
    }

    /// The RGBA value of one pixel kept as `kept` (`channels()` floats).
    #[inline]
    pub fn rgba(self, kept: &[f32]) -> [f32; 4] {
        match self {
            PixelLayout::Gray => [kept[0]; 4],
            PixelLayout::GrayAlpha => [kept[0], kept[0], kept[0], kept[1]],
            PixelLayout::Rgb => [kept[0], kept[1], kept[2], 1.0],
            PixelLayout::Rgba => [kept[0], kept[1], kept[2], kept[3]],
        }
    }

    /// Widens the pixels of `kept` into RGBA in `rgba` (four floats each),
    /// as many as both hold.
    pub fn widen(self, kept: &[f32], rgba: &mut [f32]) {
        let pixels = rgba.as_chunks_mut::<4>().0;
        for (pixel, kept) in pixels.iter_mut().zip(kept.chunks_exact(self.channels())) {
            *pixel = self.rgba(kept);
        }
    }
}

/// The sink has failed and keeps the reason: whoever feeds it rows stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkFailed;

/// Where the rows of a finished image go, from the top, as they are done:
/// an image file being encoded, or memory.
pub trait RowSink {
    /// The next whole rows of the image, `layout.channels()` floats per
    /// pixel. A sink that fails keeps its error (for its owner to report)
    /// and says [`SinkFailed`]; it is given no more rows.
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), SinkFailed>;
}

/// Rows collected in memory, one after another, as kept or widened to
/// RGBA. The memory is asked for when the first rows come, once a render
/// has checked that it fits; refused, the sink fails.
#[derive(Debug, Default)]
pub struct Collected {
    pub pixels: Vec<f32>,
    /// Floats the whole image takes.
    floats: usize,
    widen: bool,
}

impl Collected {
    /// For `floats` floats of rows as they are kept.
    pub fn kept(floats: usize) -> Collected {
        Collected {
            pixels: Vec::new(),
            floats,
            widen: false,
        }
    }

    /// For `pixels` pixels of rows widened to RGBA.
    pub fn rgba(pixels: usize) -> Collected {
        Collected {
            pixels: Vec::new(),
            floats: pixels.saturating_mul(4),
            widen: true,
        }
    }

    /// Bytes the whole image takes.
    pub fn bytes(&self) -> u64 {
        self.floats as u64 * 4
    }
}

impl RowSink for Collected {
    fn rows(&mut self, layout: PixelLayout, pixels: &[f32]) -> Result<(), SinkFailed> {
        if self.pixels.capacity() < self.floats {
            (self.pixels.try_reserve_exact(self.floats)).map_err(|_| SinkFailed)?;
        }
        if self.widen {
            let start = self.pixels.len();
            let len = pixels.len() / layout.channels() * 4;
            self.pixels.resize(start + len, 0.0);
            layout.widen(pixels, &mut self.pixels[start..]);
        } else {
            self.pixels.extend_from_slice(pixels);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layout_widens_to_the_rgba_it_stands_for() {
        let cases = [
            (PixelLayout::Gray, vec![0.25, -0.0], [[0.25; 4], [-0.0; 4]]),
            (
                PixelLayout::GrayAlpha,
                vec![0.5, 0.1, 0.7, 0.2],
                [[0.5, 0.5, 0.5, 0.1], [0.7, 0.7, 0.7, 0.2]],
            ),
            (
                PixelLayout::Rgb,
                vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                [[0.1, 0.2, 0.3, 1.0], [0.4, 0.5, 0.6, 1.0]],
            ),
            (
                PixelLayout::Rgba,
                vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]],
            ),
        ];
        for (layout, kept, expected) in cases {
            assert_eq!(kept.len(), 2 * layout.channels(), "{layout:?}");
            let mut rgba = [0.0; 8];
            layout.widen(&kept, &mut rgba);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&rgba), bits(expected.as_flattened()), "{layout:?}");
            // The kept channels are the RGBA channels `kept` names, and
            // each RGBA channel is the kept one `source` names, or 1.
            for (pixel, kept_pixel) in expected.iter().zip(kept.chunks(layout.channels())) {
                let named: Vec<f32> = layout.kept().iter().map(|&c| pixel[c]).collect();
                assert_eq!(named, kept_pixel, "{layout:?}");
                for (c, value) in pixel.iter().enumerate() {
                    let from = layout.source(c).map_or(1.0, |k| kept_pixel[k]);
                    assert_eq!(from.to_bits(), value.to_bits(), "{layout:?} channel {c}");
                }
            }
        }
    }

    #[test]
    fn rows_are_collected_in_order_as_kept_or_widened() {
        let mut kept = Collected::kept(3);
        kept.rows(PixelLayout::Gray, &[1.0, 2.0]).unwrap();
        kept.rows(PixelLayout::Gray, &[3.0]).unwrap();
        assert_eq!(kept.pixels, [1.0, 2.0, 3.0]);
        let mut rgba = Collected::rgba(2);
        rgba.rows(PixelLayout::GrayAlpha, &[1.0, 0.5]).unwrap();
        rgba.rows(PixelLayout::GrayAlpha, &[2.0, 0.25]).unwrap();
        assert_eq!(rgba.pixels, [1.0, 1.0, 1.0, 0.5, 2.0, 2.0, 2.0, 0.25]);
        assert_eq!(rgba.bytes(), 32);
        // More than this machine can give: the sink fails, no abort.
        let mut huge = Collected::kept(usize::MAX / 8);
        assert_eq!(huge.rows(PixelLayout::Gray, &[1.0]), Err(SinkFailed));
    }
}
