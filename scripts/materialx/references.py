"""Reference images from MaterialX's own GLSL renderer, for Tessera's
conformance test (tests/materialx.rs).

For every output of the documents given (of their node graphs and their
top-level ones), this generates
MaterialX's GLSL pixel shader, renders it over the unit square in texture
space (as MaterialX's texture baker does) at the size given, and writes the
float RGBA pixels as an OpenEXR image `<document>__<graph>__<output>.exr`
(the graph empty for a top-level output) into the folder given.

Run by scripts/materialx-references, which makes its virtual environment and
the software OpenGL it needs (docs/materialx.md).
"""

import argparse
import os
import subprocess
import sys

import MaterialX as mx
import numpy as np
import OpenEXR
from MaterialX import PyMaterialXGenGlsl as mx_gen_glsl
from MaterialX import PyMaterialXGenShader as mx_gen_shader
from MaterialX import PyMaterialXRender as mx_render
from MaterialX import PyMaterialXRenderGlsl as mx_render_glsl


# The GLSL that samples every texture in place of the GPU's sampler: the
# bilinear blend of the four texel centres around the point at the texture's
# full resolution, the texture repeating (OpenGL's GL_LINEAR, GL_REPEAT, no mip
# maps). Mesa's software sampler, as MaterialX sets it up (anisotropic
# filtering 16, mip maps), blurs textures even where they are magnified: at a
# texel's centre its own value weighs 80%. Tessera samples as GL_LINEAR does,
# so the references do too; the texel lookups, orientation and every node's
# arithmetic are MaterialX's own. Address modes other than periodic and the
# closest filter are not seen through this (they are in the GPU's sampler
# state, not the shader); Tessera's unit tests check them.
EXACT_BILINEAR = """
vec4 mx_reference_bilinear(sampler2D s, vec2 uv)
{
    vec2 size = vec2(textureSize(s, 0));
    vec2 texel = uv * size - 0.5;
    vec2 first = floor(texel);
    vec2 t = texel - first;
    ivec2 a = ivec2(mod(first, size));
    ivec2 b = ivec2(mod(first + 1.0, size));
    vec4 top = mix(texelFetch(s, ivec2(a.x, a.y), 0), texelFetch(s, ivec2(b.x, a.y), 0), t.x);
    vec4 bottom = mix(texelFetch(s, ivec2(a.x, b.y), 0), texelFetch(s, ivec2(b.x, b.y), 0), t.x);
    return mix(top, bottom, t.y);
}
#define texture(s, uv) mx_reference_bilinear(s, uv)
#define textureGrad(s, uv, dx, dy) mx_reference_bilinear(s, uv)
"""


def render(document, output, size, stdlib):
    generator = mx_gen_glsl.GlslShaderGenerator.create()
    # MaterialX's default colour management: colour values and files in
    # other colour spaces are converted to the target, lin_rec709.
    colour_management = mx_gen_shader.DefaultColorManagementSystem.create(generator.getTarget())
    colour_management.loadLibrary(stdlib)
    generator.setColorManagementSystem(colour_management)
    context = mx_gen_shader.GenContext(generator)
    context.registerSourceCodeSearchPath(mx.getDefaultDataSearchPath())
    options = context.getOptions()
    options.hwSrgbEncodeOutput = False
    options.targetColorSpaceOverride = "lin_rec709"
    # Images load top row first; MaterialX puts v = 0 at the bottom row.
    options.fileTextureVerticalFlip = True
    shader = generator.generate("reference", output, context)
    renderer = mx_render_glsl.GlslRenderer.create(size, size, mx_render.BaseType.FLOAT)
    renderer.initialize()
    images = mx_render_glsl.GLTextureHandler.create(mx_render.StbImageLoader.create())
    search = mx.getDefaultDataSearchPath()
    search.append(mx.FilePath(os.path.dirname(os.path.abspath(document.getSourceUri()))))
    images.setSearchPath(search)
    renderer.setImageHandler(images)
    renderer.createProgram(shader)
    # Textures filtered exactly (see EXACT_BILINEAR), not by Mesa's sampler.
    program = renderer.getProgram()
    pixel = shader.getStage(mx_gen_shader.PIXEL_STAGE).getSourceCode()
    version, rest = pixel.split("\n", 1)
    program.addStage(mx_gen_shader.PIXEL_STAGE, f"{version}\n{EXACT_BILINEAR}\n{rest}")
    program.build()
    renderer.renderTextureSpace(mx.Vector2(0, 0), mx.Vector2(1, 1))
    image = renderer.captureImage(None)
    pixels = np.zeros((size, size, 4), np.float32)
    for y in range(size):
        for x in range(size):
            c = image.getTexelColor(x, y)
            pixels[y, x] = [c[0], c[1], c[2], c[3]]
    # GL's rows run bottom-up: row 0 of the file is the top (v = 1).
    return pixels[::-1]


def load(path, stdlib):
    """The document at `path` with the standard library, and its own outputs
    as (graph name, output name) pairs: a node graph's, and the document's
    top-level ones (graph name "")."""
    document = mx.createDocument()
    mx.readFromXmlFile(document, path)
    # The document's own graphs and outputs, not the standard library's.
    outputs = [(graph.getName(), output.getName())
               for graph in document.getNodeGraphs() for output in graph.getOutputs()]
    outputs += [("", output.getName()) for output in document.getOutputs()]
    document.setDataLibrary(stdlib)
    valid, why = document.validate()
    if not valid:
        sys.exit(f"{path}: not a valid MaterialX document:\n{why}")
    return document, outputs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    stdlib = mx.createDocument()
    mx.loadLibraries(mx.getDefaultDataLibraryFolders(), mx.getDefaultDataSearchPath(), stdlib)
    os.makedirs(args.out, exist_ok=True)
    for path in args.documents:
        document, outputs = load(path, stdlib)
        stem = os.path.splitext(os.path.basename(path))[0]
        for graph, name in outputs:
            # As `tessera render --output` names it.
            which = f"{graph}/{name}" if graph else name
            if args.only is None:
                # Each output in a process of its own: one renderer after
                # another in one process gave some outputs all black.
                subprocess.run([sys.executable, __file__, path, "--out", args.out,
                                "--size", str(args.size), "--only", which], check=True)
                continue
            if which != args.only:
                continue
            output = document.getNodeGraph(graph).getOutput(name) if graph else document.getOutput(name)
            file = f"{stem}__{graph}__{name}.exr"
            pixels = render(document, output, args.size, stdlib)
            header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
            with OpenEXR.File(header, {"RGBA": np.ascontiguousarray(pixels)}) as exr:
                exr.write(os.path.join(args.out, file))
            print(f"{file}: {output.getType()}, min {pixels.min():.6g}, max {pixels.max():.6g}")


if __name__ == "__main__":
    main()
