//! Nodes computed one sample at a time from every float their inputs hold
//! at that sample: MaterialX's graph-defined nodes written out natively
//! (the shapes, the ramps), whose inputs are mostly constants and whose
//! arithmetic follows their graphs operation for operation.

use multiversion::multiversion;
use tessera_core::{Buffer, Node, NodeError, TileCtx};

/// A node whose `M` output channels are `of` the `N` floats its inputs
/// hold at each sample (every input's channels, in the inputs' order). An
/// output of more channels than `M = 1` gets the one value in each.
pub struct PerSample<const N: usize, const M: usize, F> {
    pub of: F,
}

impl<const N: usize, const M: usize, F> Node for PerSample<N, M, F>
where
    F: Fn([f32; N]) -> [f32; M] + Copy + Send + Sync,
{
    fn eval_tile(
        &self,
        _: &TileCtx,
        inputs: &[&Buffer],
        outputs: &mut [Buffer],
    ) -> Result<(), NodeError> {
        let out = &mut outputs[0];
        let len = out.len();
        if len == 0 {
            return Ok(());
        }
        if inputs.iter().any(|b| b.len() != len) {
            return Err(NodeError::new("the node's input buffers differ in length"));
        }
        let mut planes = (inputs.iter()).flat_map(|b| b.data().chunks_exact(len));
        let mut gathered = [&[][..]; N];
        for plane in gathered.iter_mut() {
            *plane =
                (planes.next()).ok_or_else(|| NodeError::new("the node's inputs lack channels"))?;
        }
        let channels = out.channels();
        if channels != M && M != 1 {
            return Err(NodeError::new("the node's output has other channels"));
        }
        let (computed, rest) = out.data_mut().split_at_mut(len * M);
        let mut computed: Vec<&mut [f32]> = computed.chunks_exact_mut(len).collect();
        let computed: &mut [&mut [f32]; M] = (&mut computed[..])
            .try_into()
            .map_err(|_| NodeError::new("the node's output lacks channels"))?;
        per_sample_planes(self.of, computed, gathered);
        for plane in rest.chunks_exact_mut(len) {
            plane.copy_from_slice(&computed[0][..]);
        }
        Ok(())
    }
}

#[multiversion(targets("x86_64+avx2"))]
fn per_sample_planes<const N: usize, const M: usize, F: Fn([f32; N]) -> [f32; M]>(
    of: F,
    out: &mut [&mut [f32]; M],
    inputs: [&[f32]; N],
) {
    let len = inputs.first().map_or(out[0].len(), |p| p.len());
    for k in 0..len {
        let values = of(std::array::from_fn(|i| inputs[i][k]));
        for (plane, value) in out.iter_mut().zip(values) {
            plane[k] = value;
        }
    }
}
