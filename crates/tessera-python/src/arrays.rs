//! Tile buffers as numpy arrays, without copying them.

use numpy::ndarray::{ArrayView2, ShapeBuilder};
use numpy::{PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use std::sync::Arc;
use tessera_core::Buffer;

/// The base object of an input array: a share of the buffer's samples,
/// which keeps them alive for as long as Python keeps the array.
#[pyclass(frozen, module = "tessera")]
struct SharedSamples {
    _samples: Arc<Vec<f32>>,
}

/// A read-only float32 array of shape (samples, channels) viewing
/// `buffer`'s samples, not a copy of them: its planes are the array's
/// columns (Fortran order, strides (4, 4 * samples) bytes). A node may keep it past its call
/// (`self.last = inputs["in"]`): the array holds a share of the samples, and
/// the renderer copies shared samples before it writes them.
pub fn input_array<'py>(py: Python<'py>, buffer: &Buffer) -> PyResult<Bound<'py, PyAny>> {
    let samples = buffer.share();
    let shape = (buffer.len(), buffer.channels()).f();
    let view = ArrayView2::from_shape(shape, samples.as_slice()).expect("len x channels floats");
    let owner = Bound::new(
        py,
        SharedSamples {
            _samples: Arc::clone(&samples),
        },
    )?;
    // SAFETY: `owner`, the array's base object, holds an Arc of the samples
    // `view` points into, so they live as long as the array; and they never
    // move or change while shared (Buffer::data_mut copies shared samples).
    let array = unsafe { PyArray2::borrow_from_array(&view, owner.into_any()) };
    // Read-only for good: numpy lets Python make writeable again only an
    // array that owns its memory.
    array.readwrite().make_nonwriteable();
    Ok(array.into_any())
}
