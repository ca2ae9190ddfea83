//! Nodes evaluated once over the whole image ([`Evaluation::WholeImage`]):
//! which nodes each one's gathering pass evaluates and stores, and the
//! stage that evaluates it.

use crate::tile::{Pass, StoredNode, TileScratch, evaluate_alone, owned_part, paste};
use crate::{RenderError, RenderThreads, Steps, advise_huge_pages, run_tiles, zeroed_floats};
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_core::{Buffer, ColorSpace, Evaluation, FrameInfo, Rect, SampleFailures};
use tessera_graph::{Plan, PlannedInput};

/// One node evaluated over the whole image, and how its inputs are made.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The node's plan index.
    pub node: usize,
    /// By plan index: the nodes the stage's gathering pass evaluates, tile
    /// by tile over the image: what the node reads, up to nodes stored.
    pub evaluates: Vec<bool>,
    /// The nodes of the pass whose outputs are stored over the whole image
    /// (each grown by its margin): those the node reads, and those read
    /// after the stage, which are then never evaluated twice.
    pub stores: Vec<usize>,
}

/// The stages of a render, in plan order, and by plan index what the
/// image's own tiles evaluate after them.
pub fn schedule(plan: &Plan) -> (Vec<Stage>, Vec<bool>) {
    let mut stored = vec![false; plan.nodes.len()];
    let mut stages = Vec::new();
    for (node, planned) in plan.nodes.iter().enumerate() {
        if planned.node.evaluation() != Evaluation::WholeImage {
            continue;
        }
        let evaluates = read_from(plan, links(&planned.inputs), &stored);
        // Read by a node the pass does not evaluate: the stage's own node,
        // a node after it, or the output.
        let mut read_beyond = vec![false; plan.nodes.len()];
        let readers = (plan.nodes.iter().enumerate())
            .filter(|&(reader, _)| !evaluates[reader])
            .flat_map(|(_, reader)| links(&reader.inputs));
        for source in readers.chain(links(plan.output.inputs())) {
            read_beyond[source] = true;
        }
        let stores: Vec<usize> = (0..plan.nodes.len())
            .filter(|&n| evaluates[n] && read_beyond[n])
            .collect();
        for &n in stores.iter().chain([&node]) {
            stored[n] = true;
        }
        stages.push(Stage {
            node,
            evaluates,
            stores,
        });
    }
    let image = read_from(plan, links(plan.output.inputs()), &stored);
    (stages, image)
}

/// The plan indices of the nodes that `inputs` link to.
fn links<'p>(inputs: impl IntoIterator<Item = &'p PlannedInput>) -> impl Iterator<Item = usize> {
    inputs.into_iter().filter_map(PlannedInput::linked_node)
}

/// By plan index: the nodes read from `start`, directly or through others,
/// up to the nodes `stored`.
fn read_from(plan: &Plan, start: impl Iterator<Item = usize>, stored: &[bool]) -> Vec<bool> {
    let mut read = vec![false; plan.nodes.len()];
    let mut unvisited: Vec<usize> = start.collect();
    while let Some(node) = unvisited.pop() {
        if !read[node] && !stored[node] {
            read[node] = true;
            unvisited.extend(links(&plan.nodes[node].inputs));
        }
    }
    read
}

/// Bytes of `channels` floats over `rect`'s samples.
fn bytes(rect: Rect, samples: u32, channels: usize) -> u64 {
    (rect.area() as u64)
        .saturating_mul(u64::from(samples))
        .saturating_mul(channels as u64 * 4)
}

/// What the stages keep: every node stored, over the whole image, until the
/// end of the render; and the largest of the stages' nodes' inputs made
/// while the node runs (a stored output is lent as it is when it covers
/// just what the node reads, in the type it reads).
pub fn memory(plan: &Plan, stages: &[Stage]) -> u64 {
    let image = &plan.image;
    let whole = Rect::new(0, 0, image.width, image.height);
    let outputs = |node: usize| {
        let planned = &plan.nodes[node];
        let channels = planned.outputs.iter().filter_map(|t| t.channels()).sum();
        bytes(whole.expand(planned.margin), image.samples, channels)
    };
    let mut kept = 0u64;
    let mut inputs = 0u64;
    for stage in stages {
        for &node in stage.stores.iter().chain([&stage.node]) {
            kept = kept.saturating_add(outputs(node));
        }
        let planned = &plan.nodes[stage.node];
        let reach = planned.margin + planned.halo();
        let lent = |input: &PlannedInput| match input {
            PlannedInput::Link { node, from, to, .. } => {
                plan.nodes[*node].margin == reach && from == to
            }
            _ => false,
        };
        let channels = (planned.inputs.iter())
            .filter(|input| !lent(input))
            .map(PlannedInput::channels)
            .sum();
        inputs = inputs.max(bytes(whole.expand(reach), image.samples, channels));
    }
    kept.saturating_add(inputs)
}

/// Evaluates `stage`: its gathering pass over the image's `tiles` on every
/// core, storing what it stores, then its node once, on one worker. Stores
/// the node and what the pass stored in `stored`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_stage(
    plan: &Plan,
    stage: &Stage,
    stored: &mut [Option<StoredNode>],
    tiles: &[Rect],
    frame: &FrameInfo,
    threads: &RenderThreads,
    cancel: &AtomicBool,
    steps: &mut Steps,
) -> Result<(), RenderError> {
    let whole = Rect::new(0, 0, frame.width, frame.height);
    let samples = frame.samples as usize;
    let mut gathered = Vec::new();
    for &node in &stage.stores {
        let planned = &plan.nodes[node];
        let rect = whole.expand(planned.margin);
        let outputs = (planned.outputs.iter())
            .map(|ty| {
                zeroed_buffer(
                    ty.channels().expect("varying output"),
                    rect,
                    samples,
                    &planned.id,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        gathered.push(StoredNode {
            rect,
            outputs,
            failures: Vec::new(),
        });
    }
    let mut failures = Vec::new();
    let pass = Pass {
        plan,
        frame,
        stored: &*stored,
        evaluates: stage.evaluates.clone(),
        colorspace: ColorSpace::LinRec709,
    };
    run_tiles(
        threads,
        tiles.len(),
        // What is gathered is kept whole: no reason to hold workers back.
        usize::MAX,
        cancel,
        |index, scratch: &mut TileScratch, share| {
            pass.gather_outputs(&stage.stores, index, tiles[index], scratch, share)
        },
        |index, (parts, tile_failures)| {
            for ((&node, whole_node), outputs) in stage.stores.iter().zip(&mut gathered).zip(parts)
            {
                let at = owned_part(tiles[index], whole, plan.nodes[node].margin);
                for (into, part) in whole_node.outputs.iter_mut().zip(&outputs) {
                    paste(part, at, into, whole_node.rect, samples);
                }
            }
            failures.extend(tile_failures);
            steps.advance();
            Ok(())
        },
    )?;
    drop(pass);
    for (&node, whole_node) in stage.stores.iter().zip(gathered) {
        stored[node] = Some(whole_node);
    }

    let planned = &plan.nodes[stage.node];
    let node_failures = SampleFailures::default();
    // On a worker, which has what a render thread has (a Python thread state).
    let evaluated =
        (threads.pool).install(|| evaluate_alone(plan, frame, stored, stage.node, &node_failures));
    let outputs = evaluated.map_err(|error| match error {
        RenderError::Node(mut failure) => {
            failure.tile = None;
            if cancel.load(Ordering::Relaxed) {
                RenderError::Cancelled {
                    interrupted: Some(failure),
                }
            } else {
                RenderError::Node(failure)
            }
        }
        other => other,
    })?;
    failures.extend(node_failures.take());
    failures.sort_unstable();
    failures.dedup();
    stored[stage.node] = Some(StoredNode {
        rect: whole.expand(planned.margin),
        outputs,
        failures,
    });
    Ok(())
}

/// A zeroed buffer of `channels` over `rect`'s samples, for `node`'s whole
/// image, or OutOfMemory when the allocation is refused.
fn zeroed_buffer(
    channels: usize,
    rect: Rect,
    samples: usize,
    node: &str,
) -> Result<Buffer, RenderError> {
    let floats = rect.area() * samples * channels;
    let mut data = zeroed_floats(floats).ok_or_else(|| RenderError::OutOfMemory {
        what: format!("node `{node}` over the whole image"),
        bytes: floats as u64 * 4,
    })?;
    advise_huge_pages(&mut data);
    Ok(Buffer::from_planar(channels, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RenderOptions, render_to_memory};
    use std::sync::Mutex;
    use tessera_core::{Node, NodeError, TileCtx, ValueType};
    use tessera_graph::{ImageSettings, PlannedNode, PlannedOutput};

    /// A float node that adds 1 to its input (or counts its calls, keeping
    /// state, when evaluated over the whole image) and reads `halo` pixels
    /// around each pixel.
    struct TestNode {
        evaluation: Evaluation,
        halo: u32,
        calls: Mutex<f32>,
    }

    impl Node for TestNode {
        fn halo(&self) -> u32 {
            self.halo
        }

        fn evaluation(&self) -> Evaluation {
            self.evaluation
        }

        fn eval_tile(
            &self,
            ctx: &TileCtx,
            inputs: &[&Buffer],
            outputs: &mut [Buffer],
        ) -> Result<(), NodeError> {
            let out = outputs[0].data_mut();
            match (self.evaluation, inputs.first()) {
                (Evaluation::WholeImage, _) => {
                    let mut calls = self.calls.lock().unwrap();
                    for value in out.iter_mut() {
                        *calls += 1.0;
                        *value = *calls;
                    }
                }
                (Evaluation::Tiled, Some(input)) => {
                    // The centre of the input, which is `halo` wider.
                    let width = ctx.rect.width as usize + 2 * self.halo as usize;
                    for (i, value) in out.iter_mut().enumerate() {
                        let (x, y) = (i % ctx.rect.width as usize, i / ctx.rect.width as usize);
                        let centre = (y + self.halo as usize) * width + x + self.halo as usize;
                        *value = input.data()[centre] + 1.0;
                    }
                }
                (Evaluation::Tiled, None) => out.fill(0.5),
            }
            Ok(())
        }
    }

    fn link(node: usize) -> PlannedInput {
        PlannedInput::Link {
            node,
            output: 0,
            from: ValueType::Float,
            to: ValueType::Float,
        }
    }

    /// A plan of `(evaluation, halo, margin, inputs)` nodes, its output the last.
    fn plan(nodes: Vec<(Evaluation, u32, u32, Vec<PlannedInput>)>) -> Plan {
        // The compiler makes the output's colour RGBA.
        let output = PlannedInput::Link {
            node: nodes.len() - 1,
            output: 0,
            from: ValueType::Float,
            to: ValueType::Color4,
        };
        Plan {
            image: ImageSettings {
                width: 5,
                height: 3,
                samples: 1,
                seed: 0,
                fps: 24.0,
            },
            nodes: (nodes.into_iter().enumerate())
                .map(|(index, (evaluation, halo, margin, inputs))| PlannedNode {
                    id: format!("n{index}"),
                    type_name: "test".into(),
                    node: Box::new(TestNode {
                        evaluation,
                        halo,
                        calls: Mutex::new(0.0),
                    }),
                    inputs,
                    outputs: vec![ValueType::Float],
                    margin,
                })
                .collect(),
            output: PlannedOutput {
                color: output,
                alpha: None,
                colorspace: None,
            },
        }
    }

    use Evaluation::{Tiled, WholeImage};

    #[test]
    fn a_stage_stores_what_its_node_reads_and_what_is_read_after_it() {
        // n0 -> n1 -> n2 (whole image) -> n4; n0 -> n3 -> n4; n4 the output.
        let plan = plan(vec![
            (Tiled, 0, 0, vec![]),
            (Tiled, 0, 0, vec![link(0)]),
            (WholeImage, 0, 0, vec![link(1)]),
            (Tiled, 0, 0, vec![link(0)]),
            (Tiled, 0, 0, vec![link(2), link(3)]),
        ]);
        let (stages, image) = schedule(&plan);
        assert_eq!(
            stages,
            [Stage {
                node: 2,
                evaluates: vec![true, true, false, false, false],
                // n1 for n2, n0 for n3 after the stage: never evaluated twice.
                stores: vec![0, 1],
            }]
        );
        assert_eq!(image, [false, false, false, true, true]);
    }

    #[test]
    fn a_plan_without_whole_image_nodes_has_no_stage() {
        let plan = plan(vec![(Tiled, 0, 0, vec![]), (Tiled, 0, 0, vec![link(0)])]);
        assert_eq!(schedule(&plan), (vec![], vec![true, true]));
        assert_eq!(memory(&plan, &[]), 0);
    }

    /// The red channel of `plan` rendered at `tile` size and `threads`.
    fn red(plan: &Plan, tile: u32, threads: usize) -> Vec<f32> {
        let options = RenderOptions {
            threads,
            tile_size: tile,
            ..RenderOptions::default()
        };
        let (rendered, pixels) =
            render_to_memory(plan, &options, &AtomicBool::new(false), &mut |_| {}).unwrap();
        let channels = rendered.layout.channels();
        pixels.chunks(channels).map(|p| p[0]).collect()
    }

    #[test]
    fn a_whole_image_node_counts_its_calls_row_by_row_at_any_tile_size() {
        // A counter read through a node reading 1 pixel around: the counter
        // is called over the image grown by 1 pixel (7 x 5), row by row.
        let counter_then_halo = || {
            plan(vec![
                (WholeImage, 0, 1, vec![]),
                (Tiled, 1, 0, vec![link(0)]),
            ])
        };
        let expected: Vec<f32> = (0..3)
            .flat_map(|y| (0..5).map(move |x| ((y + 1) * 7 + x + 1) as f32 + 1.0 + 1.0))
            .collect();
        for (tile, threads) in [(1, 1), (2, 2), (4, 3), (64, 2)] {
            assert_eq!(
                red(&counter_then_halo(), tile, threads),
                expected,
                "tile {tile}"
            );
        }
    }

    #[test]
    fn memory_counts_what_is_stored_and_the_inputs_made_for_the_node() {
        // n0 (stored, margin 1: 7 x 5) read by n1 (whole image, margin 0,
        // halo 1): lent as it is. n2 reads a constant: made, 5 x 3.
        let plan = plan(vec![
            (Tiled, 0, 1, vec![]),
            (WholeImage, 1, 0, vec![link(0)]),
            (WholeImage, 0, 0, vec![PlannedInput::Constant(vec![1.0])]),
            (Tiled, 0, 0, vec![link(1), link(2)]),
        ]);
        let (stages, _) = schedule(&plan);
        assert_eq!(memory(&plan, &stages), (35 + 15 + 15 + 15) * 4);
    }
}
