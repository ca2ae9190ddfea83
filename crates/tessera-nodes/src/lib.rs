//! Tessera's built-in nodes.
//!
//! [`builtins`] is the one explicit, ordered list of them: the order
//! `tessera nodes` and docs/nodes.md use. Each node lives with its unit tests
//! in its module, and has a minimal scene in `scenes/nodes/<type>.toml`.
//! Names, inputs and semantics follow MaterialX's standard nodes where
//! MaterialX has the node, Blender's otherwise.

mod blur;
mod channel;
mod color;
mod compositing;
mod conditional;
pub mod float;
mod gradient;
mod hextile;
mod image;
mod kind;
mod math;
pub mod noise;
mod noise_nodes;
mod pattern;
mod per_sample;
mod place2d;
mod random;
mod shape;
#[cfg(test)]
mod test_util;
mod texcoord;
mod unified;
mod vector;

use std::sync::Arc;
use tessera_core::{NodeKind, Registry};

/// Every built-in node type, in the order they are listed to users.
pub fn builtins() -> Vec<Arc<dyn NodeKind>> {
    vec![
        // Geometry and constants.
        texcoord::texcoord(),
        texcoord::position(),
        texcoord::time(),
        texcoord::frame(),
        texcoord::constant(),
        place2d::place2d(),
        // Patterns.
        pattern::checkerboard(),
        pattern::ramplr(),
        pattern::ramptb(),
        pattern::splitlr(),
        pattern::splittb(),
        pattern::ramp4(),
        gradient::ramp(),
        gradient::ramp_gradient(),
        shape::circle(),
        shape::line(),
        shape::cloverleaf(),
        shape::hexagon(),
        shape::grid(),
        shape::crosshatch(),
        shape::tiledcircles(),
        shape::tiledcloverleafs(),
        shape::tiledhexagons(),
        // Noise.
        noise_nodes::noise2d(),
        noise_nodes::noise3d(),
        noise_nodes::fractal2d(),
        noise_nodes::fractal3d(),
        noise_nodes::cellnoise2d(),
        noise_nodes::cellnoise3d(),
        noise_nodes::flake2d(),
        noise_nodes::flake3d(),
        noise_nodes::worleynoise2d(),
        noise_nodes::worleynoise3d(),
        unified::unifiednoise2d(),
        unified::unifiednoise3d(),
        random::randomfloat(),
        random::randomcolor(),
        // Textures.
        image::image(),
        hextile::hextiledimage(),
        image::latlongimage(),
        // Math.
        math::add(),
        math::subtract(),
        math::multiply(),
        math::divide(),
        math::clamp(),
        math::remap(),
        math::range(),
        math::smoothstep(),
        math::mix(),
        math::modulo(),
        math::fract(),
        math::invert(),
        math::absval(),
        math::sign(),
        math::floor(),
        math::ceil(),
        math::round(),
        math::power(),
        math::safepower(),
        math::sqrt(),
        math::ln(),
        math::exp(),
        math::sin(),
        math::cos(),
        math::tan(),
        math::asin(),
        math::acos(),
        math::atan2(),
        math::min(),
        math::max(),
        math::contrast(),
        math::trianglewave(),
        math::dot(),
        vector::dotproduct(),
        vector::crossproduct(),
        vector::magnitude(),
        vector::distance(),
        vector::normalize(),
        vector::rotate2d(),
        vector::rotate3d(),
        // Channels.
        channel::combine2(),
        channel::combine3(),
        channel::combine4(),
        channel::separate2(),
        channel::separate3(),
        channel::separate4(),
        channel::extract(),
        // Conditional.
        conditional::ifgreater(),
        conditional::ifgreatereq(),
        conditional::ifequal(),
        conditional::switch(),
        conditional::and(),
        conditional::or(),
        conditional::xor(),
        conditional::not(),
        // Colour.
        color::colorramp(),
        color::hsvadjust(),
        color::luminance(),
        color::saturate(),
        color::colorcorrect(),
        color::rgbtohsv(),
        color::hsvtorgb(),
        // Compositing.
        color::over(),
        compositing::plus(),
        compositing::minus(),
        compositing::difference(),
        compositing::screen(),
        compositing::overlay(),
        compositing::burn(),
        compositing::dodge(),
        compositing::inside(),
        compositing::outside(),
        compositing::in_(),
        compositing::out(),
        compositing::mask(),
        compositing::matte(),
        compositing::disjointover(),
        compositing::premult(),
        compositing::unpremult(),
        // Filters.
        blur::blur(),
    ]
}

/// A registry holding every built-in node.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    for kind in builtins() {
        registry
            .register(kind)
            .expect("built-in node types have distinct names");
    }
    registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_builtin_has_a_unique_name_and_a_minimal_scene() {
        let registry = registry();
        let scenes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenes/nodes");
        for name in registry.type_names() {
            let scene = scenes.join(format!("{name}.toml"));
            assert!(
                scene.is_file(),
                "node {name} has no minimal scene {}",
                scene.display()
            );
        }
    }

    #[test]
    fn every_input_and_output_is_documented() {
        for kind in builtins() {
            let spec = kind.spec();
            assert!(!spec.doc.is_empty(), "{} has no doc", spec.type_name);
            for input in &spec.inputs {
                assert!(
                    !input.doc.is_empty(),
                    "{}.{} has no doc",
                    spec.type_name,
                    input.name
                );
            }
            assert!(!spec.outputs.is_empty(), "{} has no output", spec.type_name);
        }
    }
}
