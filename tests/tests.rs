//! Tessera's integration tests: one test binary, shared helpers in `util`.
//! They drive the real `tessera` binary, as a user would.

mod cli;
mod colour;
mod determinism;
mod frames;
mod golden;
mod hostile;
mod materialx;
mod pynodes;
mod python;
mod python_misbehaviour;
mod python_processes;
mod robustness;
mod scene_errors;
mod util;
