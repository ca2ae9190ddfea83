//! MaterialX documents (`.mtlx`) as Tessera scenes.
//!
//! [`translate`] reads a document with a real XML parser (roxmltree), picks
//! the output to render (a node graph's, by default the first), and turns it
//! and every node it reads into a [`tessera_scene::SceneDesc`] whose spans
//! point into the document, so that the graph compiler's errors (an unknown
//! input, a type that does not connect, a cycle) name the `.mtlx` file's
//! line and column. A MaterialX node becomes the Tessera node of the same
//! name ([`MATERIALX_NODES`]), its `type` the node's `value_type`; one
//! Tessera lacks becomes the nodes of the graph that defines it (MaterialX's
//! standard library, embedded, or the document's own definitions).

// A Diagnostic is large, but it is built only on the cold path (once per
// mistake in a document), as in tessera-scene.
#![allow(clippy::result_large_err)]

mod document;
mod library;
mod translate;

pub use translate::{Choice, output_names, translate};

use std::sync::Arc;
use tessera_core::{NodeKind, Registry};

/// The MaterialX standard nodes Tessera renders, each by the Tessera node of
/// the same name (MaterialX's inputs, defaults and semantics), with the
/// signatures it renders: the suffixes of MaterialX's nodedef names
/// (`ND_add_color3FA`: `color3FA`, a color3 add of a float; see
/// [`nodedef_name`]).
pub const MATERIALX_NODES: &[(&str, &[&str])] = &[
    ("texcoord", &["vector2", "vector3"]),
    ("position", &["vector3"]),
    ("time", &["float"]),
    ("frame", &["float"]),
    ("normal", &["vector3"]),
    ("tangent", &["vector3"]),
    ("bitangent", &["vector3"]),
    ("geomcolor", &["float", "color3", "color4"]),
    ("constant", ALL_AND_INTEGERS),
    ("place2d", &["vector2"]),
    ("checkerboard", &["color3"]),
    ("ramplr", ALL),
    ("ramptb", ALL),
    ("splitlr", ALL),
    ("splittb", ALL),
    ("ramp4", ALL),
    ("ramp", &["color4"]),
    ("ramp_gradient", &["color4"]),
    ("circle", &["float"]),
    ("line", &["float"]),
    ("cloverleaf", &["float"]),
    ("hexagon", &["float"]),
    ("grid", &["color3"]),
    ("crosshatch", &["color3"]),
    ("tiledcircles", &["color3"]),
    ("tiledcloverleafs", &["color3"]),
    ("tiledhexagons", &["color3"]),
    ("noise2d", VECTORS),
    ("noise3d", VECTORS),
    ("fractal2d", VECTORS),
    ("fractal3d", VECTORS),
    ("cellnoise2d", &["float"]),
    ("cellnoise3d", &["float"]),
    ("flake2d", &["multioutput"]),
    ("flake3d", &["multioutput"]),
    ("worleynoise2d", &["float", "vector2", "vector3"]),
    ("worleynoise3d", &["float", "vector2", "vector3"]),
    ("unifiednoise2d", &["float"]),
    ("unifiednoise3d", &["float"]),
    ("randomfloat", &["float", "integer"]),
    ("randomcolor", &["float", "integer"]),
    ("image", ALL),
    ("hextiledimage", &["color3", "color4"]),
    ("latlongimage", &["color3"]),
    ("add", WITH_INTEGER),
    ("subtract", WITH_INTEGER),
    ("multiply", WITH_FLOAT),
    ("divide", WITH_FLOAT),
    ("clamp", WITH_FLOAT),
    ("remap", WITH_FLOAT),
    ("range", WITH_FLOAT),
    ("smoothstep", WITH_FLOAT),
    ("mix", MIX_SIGNATURES),
    ("modulo", WITH_FLOAT),
    ("fract", ALL),
    ("invert", WITH_FLOAT),
    ("absval", ALL),
    ("sign", ALL),
    ("floor", ALL_AND_INTEGER),
    ("ceil", ALL_AND_INTEGER),
    ("round", ALL_AND_INTEGER),
    ("power", WITH_FLOAT),
    ("safepower", WITH_FLOAT),
    ("sqrt", VECTORS),
    ("ln", VECTORS),
    ("exp", VECTORS),
    ("sin", VECTORS),
    ("cos", VECTORS),
    ("tan", VECTORS),
    ("asin", VECTORS),
    ("acos", VECTORS),
    ("atan2", VECTORS),
    ("min", WITH_FLOAT),
    ("max", WITH_FLOAT),
    ("contrast", WITH_FLOAT),
    ("ifgreater", COMPARED),
    ("ifgreatereq", COMPARED),
    ("ifequal", COMPARED_EQUAL),
    ("switch", SWITCH_SIGNATURES),
    ("and", &["boolean"]),
    ("or", &["boolean"]),
    ("xor", &["boolean"]),
    ("not", &["boolean"]),
    ("plus", COLOURS),
    ("minus", COLOURS),
    ("difference", COLOURS),
    ("screen", COLOURS),
    ("overlay", COLOURS),
    ("burn", COLOURS),
    ("dodge", COLOURS),
    ("inside", COLOURS),
    ("outside", COLOURS),
    (
        "combine2",
        &["vector2", "color4CF", "vector4VF", "vector4VV"],
    ),
    ("combine3", &["color3", "vector3"]),
    ("combine4", &["color4", "vector4"]),
    ("separate2", &["vector2"]),
    ("separate3", &["color3", "vector3"]),
    ("separate4", &["color4", "vector4"]),
    (
        "extract",
        &["color3", "color4", "vector2", "vector3", "vector4"],
    ),
    ("convert", CONVERSIONS),
    ("trianglewave", &["float"]),
    ("dot", ALL_AND_INTEGERS),
    ("dotproduct", &["vector2", "vector3", "vector4"]),
    ("crossproduct", &["vector3"]),
    ("magnitude", &["vector2", "vector3", "vector4"]),
    ("distance", &["vector2", "vector3", "vector4"]),
    ("normalize", &["vector2", "vector3", "vector4"]),
    ("rotate2d", &["vector2"]),
    ("rotate3d", &["vector3"]),
    ("in", &["color4"]),
    ("out", &["color4"]),
    ("mask", &["color4"]),
    ("matte", &["color4"]),
    ("disjointover", &["color4"]),
    ("premult", &["color4"]),
    ("unpremult", &["color4"]),
    ("saturate", &["color3", "color4"]),
    ("colorcorrect", &["color3"]),
    ("rgbtohsv", &["color3", "color4"]),
    ("hsvtorgb", &["color3", "color4"]),
    ("hsvadjust", &["color3", "color4"]),
    ("luminance", &["color3", "color4"]),
    ("over", &["color4"]),
];

/// The signatures of the arithmetic nodes, in an order that makes each list
/// below a prefix: every type Tessera's nodes pass between them, the forms
/// whose second operands are floats, and integers (MaterialX's per-sample
/// integers are Tessera floats holding whole numbers, exact below 2^24).
const ARITHMETIC: &[&str] = &[
    "float",
    "color3",
    "color4",
    "vector2",
    "vector3",
    "vector4",
    "color3FA",
    "color4FA",
    "vector2FA",
    "vector3FA",
    "vector4FA",
    "integer",
];
/// Every type Tessera's nodes pass between them.
const ALL: &[&str] = ARITHMETIC.split_at(6).0;
/// Those, and the forms whose second operands are floats.
const WITH_FLOAT: &[&str] = ARITHMETIC.split_at(11).0;
/// Those, and integers.
const WITH_INTEGER: &[&str] = ARITHMETIC;
/// [`ALL`] and `integer` (floor, ceil and round of a float to an integer).
const ALL_AND_INTEGER: &[&str] = &[
    "float", "color3", "color4", "vector2", "vector3", "vector4", "integer",
];
/// [`ALL`], integers and booleans (per sample: floats holding 0 or 1).
const ALL_AND_INTEGERS: &[&str] = &[
    "float", "color3", "color4", "vector2", "vector3", "vector4", "integer", "boolean",
];
/// The conditionals' forms: choosing values of every type, integers and
/// booleans (a `boolean` output is the test itself: 1 or 0), by comparing
/// floats or integers (`I`: compared as floats) or, for ifequal, booleans
/// (`B`: true is 1).
const COMPARED: &[&str] = &[
    "float", "color3", "color4", "vector2", "vector3", "vector4", "integer", "boolean", "floatI",
    "color3I", "color4I", "vector2I", "vector3I", "vector4I", "integerI", "booleanI",
];
const COMPARED_EQUAL: &[&str] = &[
    "float", "color3", "color4", "vector2", "vector3", "vector4", "integer", "boolean", "floatI",
    "color3I", "color4I", "vector2I", "vector3I", "vector4I", "integerI", "booleanI", "floatB",
    "color3B", "color4B", "vector2B", "vector3B", "vector4B", "integerB", "booleanB",
];
/// Functions MaterialX defines on floats and vectors only.
const VECTORS: &[&str] = &["float", "vector2", "vector3", "vector4"];
/// `convert`'s signatures: from the first type to the second (rendered by
/// a constant, or a separate and a combine node; from an integer or a
/// boolean, which are floats in Tessera, by a constant, an add or an
/// ifequal). The reader renders these and refuses any other.
const CONVERSIONS: &[&str] = &[
    "float_color3",
    "float_color4",
    "float_vector2",
    "float_vector3",
    "color3_color4",
    "color3_vector2",
    "color3_vector3",
    "color4_color3",
    "color4_vector2",
    "color4_vector3",
    "vector2_color3",
    "vector2_color4",
    "vector2_vector3",
    "vector3_color3",
    "vector3_color4",
    "vector3_vector2",
    "float_vector4",
    "color3_vector4",
    "color4_vector4",
    "vector2_vector4",
    "vector3_vector4",
    "vector4_color3",
    "vector4_color4",
    "vector4_vector2",
    "vector4_vector3",
    "integer_float",
    "integer_color3",
    "integer_color4",
    "integer_vector2",
    "integer_vector3",
    "integer_vector4",
    "integer_boolean",
    "boolean_float",
    "boolean_color3",
    "boolean_color4",
    "boolean_vector2",
    "boolean_vector3",
    "boolean_vector4",
    "boolean_integer",
];
/// The defaults MaterialX signatures give inputs that one Tessera node
/// shares across signatures, where the node's own default is another
/// signature's: the nodedef, the input and its value, set where a document
/// leaves the input out.
pub const SIGNATURE_DEFAULTS: &[(&str, &str, f64)] = &[
    // randomfloat of an integer draws for in itself, of a float for in *
    // 4096: the Tessera node takes floats, and cannot tell (its own input,
    // which MaterialX's node lacks).
    ("ND_randomfloat_integer", "inscale", 1.0),
    // ifequal's test as a boolean compares 1 with 0 by default; its other
    // forms 0 with 0.
    ("ND_ifequal_boolean", "value1", 1.0),
    ("ND_ifequal_booleanI", "value1", 1.0),
];

/// Inputs of MaterialX's nodedefs that its own implementations do not read,
/// by nodedef: accepted with any value of their type, to no effect.
pub const UNUSED_INPUTS: &[(&str, &str)] = &[
    // Its nodedef calls fps "an unused input, to be removed in a future
    // specification version"; 1.39.5's GLSL gives `u_time`.
    ("ND_time_float", "fps"),
];

/// The MaterialX standard nodes Tessera renders through the graphs that
/// define them in MaterialX's standard library (`stdlib_ng.mtlx`, each of
/// their nodes a native one, evaluated a tile at a time), with the
/// signatures it renders so. A node of [`MATERIALX_NODES`] with the same
/// signature is rendered natively instead.
pub const GRAPH_DEFINED_NODES: &[(&str, &[&str])] = &[
    ("noise2d", NOISE_COLOURS),
    ("noise3d", NOISE_COLOURS),
    ("fractal2d", NOISE_COLOURS),
    ("fractal3d", NOISE_COLOURS),
    // Its graph: the colour3 correction (native) with the alpha apart,
    // which also gives MaterialX's default in of (1, 1, 1, 0).
    ("colorcorrect", &["color4"]),
    ("tiledimage", ALL),
    // MaterialX's blur for a shader (its graph passes the input through),
    // not Tessera's own `blur` node.
    ("blur", ALL),
];
/// The noises' signatures MaterialX defines by graphs: colours, and
/// vectors of a float amplitude.
const NOISE_COLOURS: &[&str] = &[
    "color3",
    "color4",
    "color3FA",
    "color4FA",
    "vector2FA",
    "vector3FA",
    "vector4FA",
];
/// A mix's: by one weight, and by a weight per channel (`color3_color3`:
/// its `mix` of the type of `fg` and `bg`).
const MIX_SIGNATURES: &[&str] = &[
    "float",
    "color3",
    "color4",
    "vector2",
    "vector3",
    "vector4",
    "color3_color3",
    "color4_color4",
    "vector2_vector2",
    "vector3_vector3",
    "vector4_vector4",
];
/// A switch's: chosen by a float, or by an integer (`I`).
const SWITCH_SIGNATURES: &[&str] = &[
    "float", "color3", "color4", "vector2", "vector3", "vector4", "floatI", "color3I", "color4I",
    "vector2I", "vector3I", "vector4I",
];
/// The compositing nodes' types.
const COLOURS: &[&str] = &["float", "color3", "color4"];

/// The colour-space names MaterialX's default colour management reads as
/// other names of spaces Tessera has (`COLOR_SPACE_REMAP` in MaterialX
/// 1.39.5's DefaultColorManagementSystem.cpp): the legacy gammas, and the
/// Color Interop Forum's `*_scene` names.
pub const COLOUR_SPACE_ALIASES: &[(&str, &str)] = &[
    ("gamma18", "g18_rec709"),
    ("gamma22", "g22_rec709"),
    ("gamma24", "rec709_display"),
    ("lin_ap1_scene", "acescg"),
    ("lin_rec709_scene", "lin_rec709"),
    ("lin_p3d65_scene", "lin_displayp3"),
    ("lin_adobergb_scene", "lin_adobergb"),
    ("srgb_rec709_scene", "srgb_texture"),
    ("g22_rec709_scene", "g22_rec709"),
    ("g18_rec709_scene", "g18_rec709"),
    ("g22_ap1_scene", "g22_ap1"),
    ("srgb_p3d65_scene", "srgb_displayp3"),
    ("g22_adobergb_scene", "adobergb"),
];

/// Tessera's name for the colour space a MaterialX document calls `name`
/// ([`COLOUR_SPACE_ALIASES`]); any other name as it is.
pub fn colour_space_name(name: &str) -> &str {
    (COLOUR_SPACE_ALIASES.iter())
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, tessera)| tessera)
}

/// The signatures Tessera renders of MaterialX node `category`, if any.
pub fn signatures_of(category: &str) -> Option<&'static [&'static str]> {
    MATERIALX_NODES
        .iter()
        .find(|(name, _)| *name == category)
        .map(|(_, signatures)| *signatures)
}

/// The `type` of a node of `category` with `signature`: the output's type
/// (`color3FA` gives color3, `vector2_vector3` vector3, `floatI` float),
/// float for an extract, the products and lengths of vectors and a random
/// float, color3 for a random colour, `multioutput` for a separate.
pub fn output_type<'s>(category: &str, signature: &'s str) -> &'s str {
    match category {
        "extract" | "dotproduct" | "magnitude" | "distance" => "float",
        "separate2" | "separate3" | "separate4" => "multioutput",
        "convert" => signature.split_once('_').map_or(signature, |(_, to)| to),
        "mix" => signature.split_once('_').map_or(signature, |(ty, _)| ty),
        "combine2" => signature
            .strip_suffix("CF")
            .or_else(|| signature.strip_suffix("VF"))
            .or_else(|| signature.strip_suffix("VV"))
            .unwrap_or(signature),
        "randomfloat" => "float",
        "randomcolor" => "color3",
        "ifgreater" | "ifgreatereq" | "ifequal" | "switch" => (signature.strip_suffix('I'))
            .or_else(|| signature.strip_suffix('B'))
            .unwrap_or(signature),
        _ => signature.strip_suffix("FA").unwrap_or(signature),
    }
}

/// The Tessera type that carries values of MaterialX type `ty`: an integer
/// that varies per sample is a float holding a whole number, a boolean a
/// float holding 1 (true) or 0.
pub fn tessera_type(ty: &str) -> &str {
    match ty {
        "integer" | "boolean" => "float",
        other => other,
    }
}

/// The name of MaterialX's nodedef of `category` with `signature`:
/// `ND_add_color3FA`; for the logical nodes `ND_logical_and`, for the
/// flakes `ND_flake2d`.
pub fn nodedef_name(category: &str, signature: &str) -> String {
    match category {
        "and" | "or" | "xor" | "not" => format!("ND_logical_{category}"),
        // One signature, named after the node alone.
        "flake2d" | "flake3d" | "ramp" | "ramp_gradient" | "latlongimage" => {
            format!("ND_{category}")
        }
        _ => format!("ND_{category}_{signature}"),
    }
}

/// The value of geometric node `category` of MaterialX type `ty` on
/// Tessera's flat image, which faces the camera: its normal is +z, its
/// tangent +x (u), its bitangent +y (v), and it has no vertex colours (GL's
/// default attribute, (0, 0, 0, 1), as MaterialX's baker gives).
pub fn geometric_constant(category: &str, ty: &str) -> Option<&'static [f64]> {
    Some(match (category, ty) {
        ("normal", _) => &[0.0, 0.0, 1.0],
        ("tangent", _) => &[1.0, 0.0, 0.0],
        ("bitangent", _) => &[0.0, 1.0, 0.0],
        ("geomcolor", "float") => &[0.0],
        ("geomcolor", "color3") => &[0.0, 0.0, 0.0],
        ("geomcolor", _) => &[0.0, 0.0, 0.0, 1.0],
        _ => return None,
    })
}

/// The Tessera node that renders MaterialX node `category`, if any (a
/// `convert` is made of other nodes: `separate3`'s kind stands for it; a
/// geometric node is a `constant`).
pub fn supported_kind<'r>(registry: &'r Registry, category: &str) -> Option<&'r Arc<dyn NodeKind>> {
    let name = match category {
        "convert" => "separate3",
        "normal" | "tangent" | "bitangent" | "geomcolor" => "constant",
        _ => category,
    };
    signatures_of(category).and_then(|_| registry.get(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::SocketType;

    /// Every node listed as rendered through its graph is defined by one in
    /// MaterialX's library, and is not (with that signature) a native node.
    #[test]
    fn each_graph_defined_signature_has_a_graph_and_no_native_node() {
        let library = library::Library::load();
        for (name, signatures) in GRAPH_DEFINED_NODES {
            for signature in *signatures {
                let nodedef = nodedef_name(name, signature);
                assert!(library.graph_of(&nodedef), "no graph defines {nodedef}");
                assert!(
                    !signatures_of(name).is_some_and(|s| s.contains(signature)),
                    "{nodedef} is native"
                );
            }
        }
    }

    /// Every MaterialX alias names a colour space Tessera has.
    #[test]
    fn each_colour_space_alias_names_a_tessera_colour_space() {
        for (alias, name) in COLOUR_SPACE_ALIASES {
            assert!(
                tessera_core::ColorSpace::parse(name).is_some(),
                "{alias}: {name}"
            );
        }
        assert_eq!(colour_space_name("gamma24"), "rec709_display");
        assert_eq!(colour_space_name("sRGB"), "sRGB");
    }

    /// Every signature listed is one the Tessera node renders.
    #[test]
    fn each_listed_signature_is_a_type_of_its_tessera_node() {
        let registry = tessera_nodes::registry();
        for (name, signatures) in MATERIALX_NODES {
            // A convert is made of other nodes: its conformance test checks it.
            if *name == "convert" {
                continue;
            }
            let spec = supported_kind(&registry, name)
                .unwrap_or_else(|| panic!("no Tessera node {name}"))
                .spec();
            for signature in *signatures {
                // So is a combine2 into four channels (Translator::combine_pair),
                // and a texture coordinate of three (Translator::texcoord_vector3).
                if (*name == "combine2" && *signature != "vector2")
                    || (*name == "texcoord" && *signature == "vector3")
                {
                    continue;
                }
                let generic = |ty: &str| spec.generic_types.iter().any(|t| t.name() == ty);
                let output = tessera_type(output_type(name, signature));
                let renders = match (spec.outputs[0].ty, output) {
                    (SocketType::Generic, ty) => generic(ty),
                    // A separate or an extract: the signature is its input's.
                    (SocketType::Fixed(_), "multioutput" | "float")
                        if !spec.generic_types.is_empty() =>
                    {
                        generic(signature)
                    }
                    // A node of several fixed outputs (the flakes).
                    (SocketType::Fixed(_), "multioutput") => spec.outputs.len() > 1,
                    (SocketType::Fixed(fixed), ty) => fixed.name() == ty,
                };
                assert!(renders, "{name} does not render {signature}");
            }
        }
    }
}
