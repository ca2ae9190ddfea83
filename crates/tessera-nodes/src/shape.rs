//! MaterialX's procedural shapes: `circle`, `line`, `cloverleaf`,
//! `hexagon` (1 inside, 0 outside), and the patterns tiled from them:
//! `grid`, `crosshatch`, `tiledcircles`, `tiledcloverleafs`,
//! `tiledhexagons`. MaterialX defines each by a graph of other nodes
//! (`stdlib_ng.mtlx`); each function here follows its graph operation for
//! operation, in the graph's order, so that the pixels are the graph's bit
//! for bit (a test renders both).

use crate::kind::kind;
use crate::math::{clamp_of, glsl_mod};
use crate::per_sample::PerSample;
use crate::vector::dot;
use glam::Vec2;
use std::sync::Arc;
use tessera_core::{InputSpec, NodeKind, NodeSpec, OutputSpec, SocketType, Value, ValueType};

type V2 = [f32; 2];

fn minus(a: V2, b: V2) -> V2 {
    [a[0] - b[0], a[1] - b[1]]
}

/// MaterialX's `ifgreater(value1, value2, 0, 1)`, the shapes' last step:
/// 0 where `outside > limit`, else 1.
fn inside_unless_greater(outside: f32, limit: f32) -> f32 {
    if outside > limit { 0.0 } else { 1.0 }
}

/// NG_circle: 1 where `texcoord` is within `radius` of `center`.
fn circle_of(texcoord: V2, center: V2, radius: f32) -> f32 {
    let delta = minus(texcoord, center);
    inside_unless_greater(dot(&delta, &delta), radius * radius)
}

/// NG_line: 1 where `texcoord - center` is within `radius` of the segment
/// from `point1` to `point2`.
fn line_of(texcoord: V2, center: V2, radius: f32, point1: V2, point2: V2) -> f32 {
    let p_a = minus(minus(texcoord, center), point1);
    let b_a = minus(point2, point1);
    let along = clamp_of(dot(&p_a, &b_a) / dot(&b_a, &b_a), 0.0, 1.0);
    let diff = minus(p_a, [b_a[0] * along, b_a[1] * along]);
    inside_unless_greater(dot(&diff, &diff).sqrt(), radius)
}

/// NG_cloverleaf: four circles of `radius` around the doubled centre, at
/// the doubled coordinate moved by the radius along each axis.
fn cloverleaf_of(texcoord: V2, center: V2, radius: f32) -> f32 {
    let double = [texcoord[0] + texcoord[0], texcoord[1] + texcoord[1]];
    let center_double = [center[0] + center[0], center[1] + center[1]];
    let added = [double[0] + radius, double[1] + radius];
    let taken = [double[0] - radius, double[1] - radius];
    let right = circle_of([added[0], double[1]], center_double, radius);
    let left = circle_of([taken[0], double[1]], center_double, radius);
    let below = circle_of([double[0], taken[1]], center_double, radius);
    let above = circle_of([double[0], added[1]], center_double, radius);
    right.max(left).max(below.max(above))
}

/// NG_hexagon: a hexagon of `radius` about `center` (Inigo Quilez's
/// distance, as MaterialX's graph writes it, whose last step adds the
/// point's coordinates where the distance would take their length).
fn hexagon_of(texcoord: V2, center: V2, radius: f32) -> f32 {
    const K: [f32; 3] = [-0.866025, 0.5, 0.57735];
    // The graph's k * -1 (a negation, exact), of which x and z are used.
    let minus_k = [-K[0], -K[2]];
    let delta = minus(texcoord, center);
    let p = [delta[1].abs(), delta[0].abs()];
    let kxy = [K[0], K[1]];
    let mirrored = [minus_k[0], K[1]];
    let nearest = dot(&kxy, &p).min(0.0);
    let p1 = minus(p, [kxy[0] * nearest * 2.0, kxy[1] * nearest * 2.0]);
    let nearest = dot(&mirrored, &p1).min(0.0);
    let p2 = minus(
        p1,
        [mirrored[0] * nearest * 2.0, mirrored[1] * nearest * 2.0],
    );
    let along = clamp_of(p2[0], minus_k[1] * radius, K[2] * radius);
    let p3 = minus(p2, [along, radius]);
    inside_unless_greater(dot(&p3, &[1.0, 1.0]).sqrt(), 0.0)
}

/// The tiled patterns' coordinate: `texcoord * uvtiling - uvoffset`.
fn tiled(texcoord: V2, tiling: V2, offset: V2) -> V2 {
    minus([texcoord[0] * tiling[0], texcoord[1] * tiling[1]], offset)
}

/// NG_grid and NG_crosshatch's common part: the position in the cell, -1..1
/// on each axis, every other row shifted half a cell where `staggered`.
fn cell_position(at: V2, staggered: f32) -> V2 {
    let row_shift = if glsl_mod(at[1], 2.0) > 1.0 { 0.5 } else { 0.0 };
    let across = if staggered == 1.0 {
        at[0] + row_shift
    } else {
        at[0]
    };
    [
        glsl_mod(across, 1.0) * 2.0 - 1.0,
        glsl_mod(at[1], 1.0) * 2.0 - 1.0,
    ]
}

/// NG_grid: 1 on the lines between cells, `thickness` wide.
fn grid_of(texcoord: V2, tiling: V2, offset: V2, thickness: f32, staggered: f32) -> f32 {
    let [x, y] = cell_position(tiled(texcoord, tiling, offset), staggered);
    let thick_to_size = 1.0 - thickness;
    let inner_x = inside_unless_greater(x.abs(), thick_to_size);
    let inner_y = inside_unless_greater(y.abs(), thick_to_size);
    1.0 - inner_x.min(inner_y)
}

/// NG_crosshatch: 1 on the cells' two diagonals, `thickness` wide.
fn crosshatch_of(texcoord: V2, tiling: V2, offset: V2, thickness: f32, staggered: f32) -> f32 {
    let at = cell_position(tiled(texcoord, tiling, offset), staggered);
    let diagonal = line_of(at, [0.0, 0.0], thickness, [1.0, 1.0], [-1.0, -1.0]);
    let other = line_of(at, [0.0, 0.0], thickness, [-1.0, 1.0], [1.0, -1.0]);
    // The graph takes the max of the two, then that max with itself.
    let both = diagonal.max(other);
    both.max(both)
}

/// NG_tiledcircles, NG_tiledcloverleafs and NG_tiledhexagons: `shape` of
/// radius `size` in each cell's -1..1 square; or, where `staggered`, of
/// radius `size / 2` in cell units (the same size) on rows `row` high,
/// every other one (of each `rows`, the double height as the graph writes
/// it) shifted half a cell, three shapes from the row's corners.
fn tiled_shapes(
    shape: impl Fn(V2, V2, f32) -> f32,
    [row, rows]: [f32; 2],
    [
        u,
        v,
        tiling_u,
        tiling_v,
        offset_u,
        offset_v,
        size,
        staggered,
    ]: [f32; 8],
) -> f32 {
    let at = tiled([u, v], [tiling_u, tiling_v], [offset_u, offset_v]);
    if staggered != 1.0 {
        let recentred = [
            glsl_mod(at[0], 1.0) * 2.0 - 1.0,
            glsl_mod(at[1], 1.0) * 2.0 - 1.0,
        ];
        return shape(recentred, [0.0, 0.0], size);
    }
    let shift = if glsl_mod(at[1], rows) > row {
        0.5
    } else {
        0.0
    };
    let x = glsl_mod(at[0] + shift, 1.0);
    let y = glsl_mod(at[1], row);
    let half = size / 2.0;
    let first = shape([x, y], [0.0, 0.0], half);
    let second = shape([1.0 - x, y], [0.0, 0.0], half);
    let third = shape([x - 0.5, row - y], [0.0, 0.0], half);
    first.max(second).max(third)
}

/// The height of a row of staggered circles and hexagons, and its double,
/// as MaterialX's graphs write them (√3 / 2 and √3, rounded).
const HEXAGONAL_ROWS: [f32; 2] = [0.866025, 1.73205];

fn vector(name: &str, [x, y]: V2, doc: &str) -> InputSpec {
    InputSpec::fixed(
        name,
        ValueType::Vector2,
        Value::Vector2(Vec2::new(x, y)),
        doc,
    )
}

fn shape_node<const N: usize>(
    spec: NodeSpec,
    (output, doc): (ValueType, &str),
    of: impl Fn([f32; N]) -> f32 + Copy + Send + Sync + 'static,
) -> Arc<dyn NodeKind> {
    let spec = spec.output(OutputSpec::new("out", SocketType::Fixed(output), doc));
    kind(spec, move |_| {
        Ok(Box::new(PerSample {
            of: move |inputs| [of(inputs)],
        }))
    })
}

const INSIDE: &str = "1 inside the shapes, 0 outside";
const ON_LINES: &str = "1 on the lines, 0 between them";

/// A single shape's inputs: texcoord, then center and radius.
fn single(name: &str, doc: &str, radius: f32) -> NodeSpec {
    NodeSpec::new(name, doc)
        .input(InputSpec::texcoord())
        .input(vector("center", [0.0, 0.0], "the shape's centre"))
        .input(InputSpec::float("radius", radius, "the shape's size"))
}

pub fn circle() -> Arc<dyn NodeKind> {
    let spec = single(
        "circle",
        "1 inside the circle of radius about center, 0 outside (MaterialX's circle)",
        0.5,
    );
    shape_node(spec, (ValueType::Float, INSIDE), |[u, v, cx, cy, r]| {
        circle_of([u, v], [cx, cy], r)
    })
}

pub fn line() -> Arc<dyn NodeKind> {
    let spec = single(
        "line",
        "1 within radius of the segment from point1 to point2 (about center), 0 elsewhere \
         (MaterialX's line)",
        0.1,
    )
    .input(vector("point1", [0.25, 0.25], "the segment's start"))
    .input(vector("point2", [0.75, 0.75], "the segment's end"));
    shape_node(
        spec,
        (ValueType::Float, INSIDE),
        |[u, v, cx, cy, r, x1, y1, x2, y2]| line_of([u, v], [cx, cy], r, [x1, y1], [x2, y2]),
    )
}

pub fn cloverleaf() -> Arc<dyn NodeKind> {
    let spec = single(
        "cloverleaf",
        "1 inside a four-leaf clover of radius about center, 0 outside (MaterialX's cloverleaf)",
        0.5,
    );
    shape_node(spec, (ValueType::Float, INSIDE), |[u, v, cx, cy, r]| {
        cloverleaf_of([u, v], [cx, cy], r)
    })
}

pub fn hexagon() -> Arc<dyn NodeKind> {
    let spec = single(
        "hexagon",
        "1 inside the hexagon of radius about center, 0 outside (MaterialX's hexagon)",
        0.5,
    );
    shape_node(spec, (ValueType::Float, INSIDE), |[u, v, cx, cy, r]| {
        hexagon_of([u, v], [cx, cy], r)
    })
}

/// A tiled pattern's inputs: texcoord, uvtiling, uvoffset, its size input,
/// staggered.
fn tiling(name: &str, doc: &str, size: (&str, f32, &str)) -> NodeSpec {
    NodeSpec::new(name, doc)
        .input(InputSpec::texcoord())
        .input(vector("uvtiling", [1.0, 1.0], "cells across u and v"))
        .input(vector(
            "uvoffset",
            [0.0, 0.0],
            "shift of the pattern, in cells",
        ))
        .input(InputSpec::float(size.0, size.1, size.2))
        .input(InputSpec::float(
            "staggered",
            0.0,
            "a boolean (1 true, 0 false): 1 shifts every other row by half a cell (the tiled \
             shapes: rows packed hexagonally)",
        ))
}

pub fn grid() -> Arc<dyn NodeKind> {
    let spec = tiling(
        "grid",
        "1 on the lines between cells of texcoord * uvtiling - uvoffset, 0 inside (MaterialX's \
         grid)",
        ("thickness", 0.05, "the lines' width, in cells"),
    );
    shape_node(
        spec,
        (ValueType::Color3, ON_LINES),
        |[u, v, tu, tv, ou, ov, t, s]| grid_of([u, v], [tu, tv], [ou, ov], t, s),
    )
}

pub fn crosshatch() -> Arc<dyn NodeKind> {
    let spec = tiling(
        "crosshatch",
        "1 on both diagonals of each cell of texcoord * uvtiling - uvoffset, 0 elsewhere \
         (MaterialX's crosshatch)",
        ("thickness", 0.05, "the diagonals' width"),
    );
    shape_node(
        spec,
        (ValueType::Color3, ON_LINES),
        |[u, v, tu, tv, ou, ov, t, s]| crosshatch_of([u, v], [tu, tv], [ou, ov], t, s),
    )
}

/// A tiled pattern of `shape`, `name`: its inputs one float each, in
/// their order, to a float.
fn tiled_shape_node(
    name: &str,
    shape: &str,
    of: impl Fn([f32; 8]) -> f32 + Copy + Send + Sync + 'static,
) -> Arc<dyn NodeKind> {
    let doc = format!(
        "a {shape} in each cell of texcoord * uvtiling - uvoffset, 1 inside, 0 outside; \
         staggered, in rows of hexagonal packing, every other row shifted half a cell \
         (MaterialX's {name})"
    );
    let spec = tiling(name, &doc, ("size", 0.5, "the shapes' size, in cells"));
    shape_node(spec, (ValueType::Color3, INSIDE), of)
}

pub fn tiledcircles() -> Arc<dyn NodeKind> {
    tiled_shape_node("tiledcircles", "circle", |inputs| {
        tiled_shapes(circle_of, HEXAGONAL_ROWS, inputs)
    })
}

pub fn tiledcloverleafs() -> Arc<dyn NodeKind> {
    tiled_shape_node("tiledcloverleafs", "cloverleaf", |inputs| {
        tiled_shapes(cloverleaf_of, [0.5, 1.0], inputs)
    })
}

pub fn tiledhexagons() -> Arc<dyn NodeKind> {
    tiled_shape_node("tiledhexagons", "hexagon", |inputs| {
        tiled_shapes(hexagon_of, HEXAGONAL_ROWS, inputs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_one_inside_and_zero_outside() {
        assert_eq!(circle_of([0.3, 0.4], [0.0, 0.0], 0.5), 1.0);
        assert_eq!(circle_of([0.3, 0.41], [0.0, 0.0], 0.5), 0.0);
        // The default line runs from (0.25, 0.25) to (0.75, 0.75).
        assert_eq!(
            line_of([0.5, 0.55], [0.0, 0.0], 0.1, [0.25, 0.25], [0.75, 0.75]),
            1.0
        );
        assert_eq!(
            line_of([0.5, 0.7], [0.0, 0.0], 0.1, [0.25, 0.25], [0.75, 0.75]),
            0.0
        );
        // Beyond its end the distance is to the end point.
        assert_eq!(
            line_of([0.85, 0.75], [0.0, 0.0], 0.1, [0.25, 0.25], [0.75, 0.75]),
            0.0
        );
        // A cloverleaf's leaves are circles about (±r/2, 0) and (0, ±r/2):
        // not at its centre's far diagonal.
        assert_eq!(cloverleaf_of([0.25, 0.0], [0.0, 0.0], 0.5), 1.0);
        assert_eq!(cloverleaf_of([0.3, 0.3], [0.0, 0.0], 0.5), 0.0);
        assert_eq!(hexagon_of([0.0, 0.0], [0.0, 0.0], 0.5), 1.0);
        assert_eq!(hexagon_of([0.7, 0.0], [0.0, 0.0], 0.5), 0.0);
    }

    #[test]
    fn tiled_patterns_repeat_per_cell_and_stagger_rows() {
        let circles = |u: f32, v: f32, size: f32, staggered: f32| {
            tiled_shapes(
                circle_of,
                HEXAGONAL_ROWS,
                [u, v, 2.0, 2.0, 0.0, 0.0, size, staggered],
            )
        };
        // Cell centres are inside, corners outside; one cell over, the same.
        for size in [0.5, 0.9] {
            assert_eq!(circles(0.25, 0.25, size, 0.0), 1.0);
            assert_eq!(circles(0.75, 0.75, size, 0.0), 1.0);
        }
        assert_eq!(circles(0.01, 0.01, 0.9, 0.0), 0.0);
        // Staggered: the circles sit on the rows' corners.
        assert_eq!(circles(0.01, 0.01, 0.9, 1.0), 1.0);
        assert_eq!(circles(0.25, 0.05, 0.9, 1.0), 0.0);
        // The grid's lines are at the cells' edges.
        assert_eq!(grid_of([0.5, 0.25], [1.0, 1.0], [0.0, 0.0], 0.05, 0.0), 0.0);
        assert_eq!(grid_of([0.01, 0.5], [1.0, 1.0], [0.0, 0.0], 0.05, 0.0), 1.0);
        // Staggered, the second row's vertical lines move half a cell.
        assert_eq!(grid_of([0.5, 1.5], [1.0, 1.0], [0.0, 0.0], 0.05, 1.0), 1.0);
        assert_eq!(grid_of([0.5, 1.5], [1.0, 1.0], [0.0, 0.0], 0.05, 0.0), 0.0);
        // The crosshatch's diagonals cross at the cell's centre.
        assert_eq!(
            crosshatch_of([0.5, 0.5], [1.0, 1.0], [0.0, 0.0], 0.05, 0.0),
            1.0
        );
        assert_eq!(
            crosshatch_of([0.5, 0.2], [1.0, 1.0], [0.0, 0.0], 0.05, 0.0),
            0.0
        );
    }
}
