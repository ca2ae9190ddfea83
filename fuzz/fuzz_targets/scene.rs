//! Scene text in, never a panic: parses arbitrary text as a scene and, when
//! it parses, compiles it against the built-in nodes. Every diagnostic either
//! stage returns must point inside the text, on character boundaries, since
//! the CLI slices the text at those spans to print them.
//!
//! Nothing is rendered (too slow to fuzz). Relative image paths resolve
//! against a directory that does not exist, so they fail cleanly; scenes
//! naming an absolute path are parsed but not compiled, so that the fuzzer
//! never opens a device or FIFO (`/dev/stdin`) that could block.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tessera_scene::{Diagnostic, Param, ParamValue, SceneDesc, Span};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let scene = match tessera_scene::parse_scene(text) {
        Ok(scene) => scene,
        Err(errors) => {
            assert!(
                !errors.0.is_empty(),
                "parse_scene failed with no diagnostic"
            );
            check_diagnostics(text, &errors.0);
            return;
        }
    };
    if names_an_absolute_path(&scene) {
        return;
    }
    let registry = tessera_nodes::registry();
    if let Err(errors) =
        tessera_graph::compile(&scene, &registry, Path::new("/nonexistent-fuzz-dir"))
    {
        assert!(!errors.0.is_empty(), "compile failed with no diagnostic");
        check_diagnostics(text, &errors.0);
    }
});

/// What the CLI does with a diagnostic's spans, minus the printing: each must
/// be a valid slice of the text.
fn check_diagnostics(text: &str, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        if let Some(span) = &d.span {
            check_span(text, span, d, "span");
        }
        for (span, _) in &d.related {
            check_span(text, span, d, "related span");
        }
        // Every diagnostic says something.
        assert!(!d.message.is_empty(), "empty message: {d:?}");
    }
}

fn check_span(text: &str, span: &Span, d: &Diagnostic, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what} {span:?} outside the text ({} bytes): {d:?}",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} {span:?} not on char boundaries: {d:?}"
    );
    // The CLI slices exactly like this.
    let _ = &text[span.clone()];
}

/// Whether any string in the scene is an absolute path (see the module docs).
fn names_an_absolute_path(scene: &SceneDesc) -> bool {
    let sections = [&scene.image, &scene.output, &scene.python];
    let section_params = sections.into_iter().flatten().flat_map(|s| &s.params);
    let node_params = scene.nodes.iter().flat_map(|n| &n.params);
    section_params
        .chain(node_params)
        .any(|p: &Param| absolute(&p.value.value))
}

fn absolute(value: &ParamValue) -> bool {
    match value {
        ParamValue::String(s) => {
            s.starts_with('/') || s.starts_with('\\') || Path::new(s).is_absolute()
        }
        ParamValue::Array(items) => items.iter().any(|item| absolute(&item.value)),
        ParamValue::Table(params) => params.iter().any(|p| absolute(&p.value.value)),
        _ => false,
    }
}
