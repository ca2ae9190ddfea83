//! Colour spaces, by MaterialX's names, and the transforms between each of
//! them and Tessera's working space: linear Rec.709 primaries (D65 white),
//! `lin_rec709`. The formulas are those of MaterialX's default colour
//! management (its `cmlib` transforms): the piecewise sRGB curve, pure
//! gammas after clamping at 0, and 3x3 primaries matrices, computed here in
//! f64 and rounded once to f32.

use std::fmt;

/// A colour space a file's RGB values are in. Alpha is never converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorSpace {
    /// No conversion: the values are data (heights, masks, normals).
    Raw,
    /// Linear Rec.709 primaries: Tessera's working space (alias `lin_srgb`).
    LinRec709,
    /// The sRGB curve over Rec.709 primaries: what 8-bit images hold.
    SrgbTexture,
    /// Gamma 2.2 over Rec.709 primaries.
    G22Rec709,
    /// Gamma 1.8 over Rec.709 primaries.
    G18Rec709,
    /// Gamma 2.4 over Rec.709 primaries (a Rec.709 display).
    Rec709Display,
    /// Linear ACES AP1 primaries (alias `lin_ap1`).
    AcesCg,
    /// Gamma 2.2 over AP1 primaries.
    G22Ap1,
    /// Gamma 1.8 over AP1 primaries.
    G18Ap1,
    /// Adobe RGB (1998): gamma 563/256 over its primaries.
    AdobeRgb,
    /// Linear Adobe RGB (1998) primaries.
    LinAdobeRgb,
    /// The sRGB curve over Display P3 primaries.
    SrgbDisplayP3,
    /// Linear Display P3 primaries.
    LinDisplayP3,
}

/// Every name Tessera knows, and its space (aliases after the name they
/// stand for).
const NAMES: [(&str, ColorSpace); 15] = [
    ("raw", ColorSpace::Raw),
    ("lin_rec709", ColorSpace::LinRec709),
    ("lin_srgb", ColorSpace::LinRec709),
    ("srgb_texture", ColorSpace::SrgbTexture),
    ("g22_rec709", ColorSpace::G22Rec709),
    ("g18_rec709", ColorSpace::G18Rec709),
    ("rec709_display", ColorSpace::Rec709Display),
    ("acescg", ColorSpace::AcesCg),
    ("lin_ap1", ColorSpace::AcesCg),
    ("g22_ap1", ColorSpace::G22Ap1),
    ("g18_ap1", ColorSpace::G18Ap1),
    ("adobergb", ColorSpace::AdobeRgb),
    ("lin_adobergb", ColorSpace::LinAdobeRgb),
    ("srgb_displayp3", ColorSpace::SrgbDisplayP3),
    ("lin_displayp3", ColorSpace::LinDisplayP3),
];

/// How a space's values relate to light, before its primaries.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Curve {
    Linear,
    /// The piecewise sRGB curve.
    Srgb,
    /// `max(v, 0)^gamma` to decode.
    Gamma(f64),
}

/// Linear AP1 (ACEScg) to linear Rec.709, with the Bradford adaptation
/// from ACES's white to D65 (the matrix ACES and MaterialX publish).
const AP1_TO_REC709: [[f64; 3]; 3] = [
    [1.705050992658, -0.621792120657, -0.083258872001],
    [-0.130256417507, 1.140804736575, -0.010548319068],
    [-0.024003356805, -0.128968976065, 1.15297233287],
];

/// Linear Adobe RGB (1998) to linear Rec.709 (both D65).
const ADOBE_RGB_TO_REC709: [[f64; 3]; 3] = [
    [1.39835574, -0.398355744, 0.0],
    [0.0, 1.0, 0.0],
    [0.0, -0.0429289893, 1.04292899],
];

/// Linear Display P3 to linear Rec.709 (both D65), MaterialX's `cmlib`
/// matrix to the digits it publishes (its tiny off-diagonal terms included),
/// so that documents in these spaces match its renderer to 1e-5
/// (tests/materialx/conformance/colour.mtlx).
const DISPLAY_P3_TO_REC709: [[f64; 3]; 3] = [
    [1.22493029, -0.22492968, 0.00000006],
    [-0.04205868, 1.04205894, -0.00000001],
    [-0.01964128, -0.07864794, 1.09828925],
];

const REC709_TO_AP1: [[f64; 3]; 3] = inverse(&AP1_TO_REC709);
const REC709_TO_ADOBE_RGB: [[f64; 3]; 3] = inverse(&ADOBE_RGB_TO_REC709);
const REC709_TO_DISPLAY_P3: [[f64; 3]; 3] = inverse(&DISPLAY_P3_TO_REC709);

impl ColorSpace {
    /// The space called `name`, MaterialX's spelling.
    pub fn parse(name: &str) -> Option<ColorSpace> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }

    /// Every name [`ColorSpace::parse`] accepts, in a stable order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(name, _)| *name)
    }

    /// The space's own name (not an alias).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, c)| *c == self)
            .map(|(name, _)| *name)
            .expect("every space has a name")
    }

    fn curve(self) -> Curve {
        match self {
            ColorSpace::Raw | ColorSpace::LinRec709 => Curve::Linear,
            ColorSpace::AcesCg | ColorSpace::LinAdobeRgb | ColorSpace::LinDisplayP3 => {
                Curve::Linear
            }
            ColorSpace::SrgbTexture | ColorSpace::SrgbDisplayP3 => Curve::Srgb,
            ColorSpace::G22Rec709 | ColorSpace::G22Ap1 => Curve::Gamma(2.2),
            ColorSpace::G18Rec709 | ColorSpace::G18Ap1 => Curve::Gamma(1.8),
            ColorSpace::Rec709Display => Curve::Gamma(2.4),
            ColorSpace::AdobeRgb => Curve::Gamma(563.0 / 256.0),
        }
    }

    /// The space's linear primaries to Rec.709's; None when they are Rec.709's.
    fn to_rec709(self) -> Option<[[f64; 3]; 3]> {
        match self {
            ColorSpace::AcesCg | ColorSpace::G22Ap1 | ColorSpace::G18Ap1 => Some(AP1_TO_REC709),
            ColorSpace::AdobeRgb | ColorSpace::LinAdobeRgb => Some(ADOBE_RGB_TO_REC709),
            ColorSpace::SrgbDisplayP3 | ColorSpace::LinDisplayP3 => Some(DISPLAY_P3_TO_REC709),
            _ => None,
        }
    }

    /// Rec.709's linear primaries to the space's: the inverse of
    /// [`ColorSpace::to_rec709`].
    fn rec709_to_space(self) -> Option<[[f64; 3]; 3]> {
        match self {
            ColorSpace::AcesCg | ColorSpace::G22Ap1 | ColorSpace::G18Ap1 => Some(REC709_TO_AP1),
            ColorSpace::AdobeRgb | ColorSpace::LinAdobeRgb => Some(REC709_TO_ADOBE_RGB),
            ColorSpace::SrgbDisplayP3 | ColorSpace::LinDisplayP3 => Some(REC709_TO_DISPLAY_P3),
            _ => None,
        }
    }

    /// Whether converting does nothing.
    pub fn is_working_space(self) -> bool {
        matches!(self, ColorSpace::Raw | ColorSpace::LinRec709)
    }

    /// Whether [`ColorSpace::encode`] treats each channel alone (the same
    /// curve, no matrix), so that a grey stays exactly grey.
    pub fn encodes_channels_alone(self) -> bool {
        self.rec709_to_space().is_none()
    }

    /// An RGB value in this space, in the working space (linear Rec.709).
    pub fn decode(self, rgb: [f32; 3]) -> [f32; 3] {
        if self.is_working_space() {
            return rgb;
        }
        let curve = self.curve();
        let linear = rgb.map(|v| decode_curve(curve, f64::from(v)));
        let linear = match self.to_rec709() {
            Some(matrix) => multiply(&matrix, linear),
            None => linear,
        };
        linear.map(|v| v as f32)
    }

    /// An RGB value of the working space, in this space. Single precision
    /// where the primaries are Rec.709's: the image's every pixel goes
    /// through it, and f32's `powf` is within 1e-7 of f64's here.
    pub fn encode(self, rgb: [f32; 3]) -> [f32; 3] {
        if self.is_working_space() {
            return rgb;
        }
        let curve = self.curve();
        match self.rec709_to_space() {
            Some(matrix) => {
                let linear = multiply(&matrix, rgb.map(f64::from));
                linear.map(|v| encode_curve(curve, v) as f32)
            }
            None => rgb.map(|v| encode_curve_f32(curve, v)),
        }
    }
}

impl fmt::Display for ColorSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn decode_curve(curve: Curve, v: f64) -> f64 {
    match curve {
        Curve::Linear => v,
        Curve::Srgb if v > 0.04045 => ((v + 0.055).max(0.0) / 1.055).powf(2.4),
        Curve::Srgb => v / 12.92,
        Curve::Gamma(gamma) => v.max(0.0).powf(gamma),
    }
}

fn encode_curve(curve: Curve, v: f64) -> f64 {
    match curve {
        Curve::Linear => v,
        Curve::Srgb if v > 0.0031308 => 1.055 * v.powf(1.0 / 2.4) - 0.055,
        Curve::Srgb => v * 12.92,
        Curve::Gamma(gamma) => v.max(0.0).powf(1.0 / gamma),
    }
}

/// [`encode_curve`] in single precision.
fn encode_curve_f32(curve: Curve, v: f32) -> f32 {
    match curve {
        Curve::Linear => v,
        // The affine step in f64: in f32, white would come out 0.99999994.
        Curve::Srgb if v > 0.003_130_8 => (1.055 * f64::from(v.powf(1.0 / 2.4)) - 0.055) as f32,
        Curve::Srgb => v * 12.92,
        Curve::Gamma(gamma) => v.max(0.0).powf((1.0 / gamma) as f32),
    }
}

fn multiply(matrix: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    matrix.map(|row| row[0] * v[0] + row[1] * v[1] + row[2] * v[2])
}

/// The inverse of a 3x3 matrix (its adjugate over its determinant);
/// `const`, so that each space's inverse is computed once, at build time.
const fn inverse(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let determinant =
        m[0][0] * cofactor(m, 0, 0) + m[0][1] * cofactor(m, 0, 1) + m[0][2] * cofactor(m, 0, 2);
    let mut inverse = [[0.0; 3]; 3];
    let mut r = 0;
    while r < 3 {
        let mut c = 0;
        while c < 3 {
            inverse[r][c] = cofactor(m, c, r) / determinant;
            c += 1;
        }
        r += 1;
    }
    inverse
}

/// The cofactor of `m` at row `r`, column `c`.
const fn cofactor(m: &[[f64; 3]; 3], r: usize, c: usize) -> f64 {
    let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
    let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
    m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_to_a_space_that_prints_its_own_name() {
        for name in ColorSpace::names() {
            let space = ColorSpace::parse(name).unwrap();
            assert_eq!(ColorSpace::parse(space.name()), Some(space), "{name}");
        }
        assert_eq!(ColorSpace::parse("lin_srgb"), Some(ColorSpace::LinRec709));
        assert_eq!(ColorSpace::parse("sRGB"), None);
    }

    #[test]
    fn srgb_matches_its_published_values() {
        let srgb = ColorSpace::SrgbTexture;
        // IEC 61966-2-1: linear 0.5 is encoded 0.7353569; 188/255 decodes to 0.5029.
        assert!((srgb.encode([0.5; 3])[0] - 0.735_356_9).abs() < 1e-6);
        assert!((srgb.decode([188.0 / 255.0; 3])[0] - 0.502_886_5).abs() < 1e-6);
        // 0.5 linear stores 188 in 8 bits; the linear segment below the knee.
        assert_eq!((srgb.encode([0.5; 3])[0] * 255.0).round(), 188.0);
        assert_eq!(srgb.decode([0.02; 3])[0], (0.02f64 / 12.92) as f32);
        assert_eq!(srgb.encode([0.0, 1.0, 0.0]), [0.0, 1.0, 0.0]);
    }

    #[test]
    fn gammas_clamp_below_zero_and_raise() {
        assert_eq!(
            ColorSpace::G22Rec709.decode([-0.5, 0.0, 1.0]),
            [0.0, 0.0, 1.0]
        );
        let half = ColorSpace::G18Rec709.decode([0.5; 3])[0];
        assert!((half - 0.5f64.powf(1.8) as f32).abs() < 1e-7);
    }

    #[test]
    fn matrices_keep_white_and_round_trip() {
        for name in ColorSpace::names() {
            let space = ColorSpace::parse(name).unwrap();
            let white = space.decode([1.0; 3]);
            assert!(
                white.iter().all(|v| (v - 1.0).abs() < 2e-4),
                "{name}: white is {white:?}"
            );
            let colour = [0.2, 0.5, 0.8];
            let back = space.decode(space.encode(colour));
            let error = (0..3)
                .map(|c| (back[c] - colour[c]).abs())
                .fold(0.0, f32::max);
            assert!(error < 1e-5, "{name}: {colour:?} came back as {back:?}");
        }
    }

    #[test]
    fn a_space_said_to_encode_channels_alone_keeps_greys_grey() {
        let greys = (0..=1000).map(|i| i as f32 / 500.0 - 0.5);
        for name in ColorSpace::names() {
            let space = ColorSpace::parse(name).unwrap();
            let all_grey = greys.clone().all(|v| {
                let [r, g, b] = space.encode([v; 3]);
                r.to_bits() == g.to_bits() && g.to_bits() == b.to_bits()
            });
            if space.encodes_channels_alone() {
                assert!(all_grey, "{name}");
            }
        }
        // Why it matters: Display P3's matrix turns greys slightly coloured.
        let p3 = ColorSpace::LinDisplayP3;
        assert!(!p3.encodes_channels_alone());
        assert!(greys.clone().any(|v| {
            let [r, g, b] = p3.encode([v; 3]);
            r != g || g != b
        }));
    }

    #[test]
    fn each_stored_inverse_undoes_its_matrix() {
        for (to, from) in [
            (AP1_TO_REC709, REC709_TO_AP1),
            (ADOBE_RGB_TO_REC709, REC709_TO_ADOBE_RGB),
            (DISPLAY_P3_TO_REC709, REC709_TO_DISPLAY_P3),
        ] {
            for (c, unit) in [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
                .into_iter()
                .enumerate()
            {
                let back = multiply(&from, multiply(&to, unit));
                assert!(
                    (0..3).all(|k| (back[k] - unit[k]).abs() < 1e-12),
                    "column {c}: {back:?}"
                );
            }
        }
    }

    #[test]
    fn acescg_red_is_the_published_rec709_colour() {
        let red = ColorSpace::AcesCg.decode([1.0, 0.0, 0.0]);
        assert_eq!(red, [1.705_051, -0.130_256_42, -0.024_003_357]);
    }
}
