"""The `tessera` Python package (scripts/test-package runs these with pytest).

Pixels are compared with the `tessera` command's: the binary named by
$TESSERA (scripts/test-package passes the one cargo built), rendering to EXR,
whose pixels are linear as `tessera.render`'s are.
"""

import copy
import hashlib
import multiprocessing
import os
import pathlib
import pickle
import shutil
import signal
import subprocess
import sys
import threading

import numpy
import pytest

import tessera

ROOT = pathlib.Path(__file__).resolve().parents[3]
TESSERA = os.environ.get("TESSERA", str(ROOT / "target/release/tessera"))


def cli_hash(scene, tmp_path, *extra):
    """The pixel hash `tessera render` prints for `scene` written to EXR."""
    run = subprocess.run(
        [TESSERA, "render", str(scene), "-o", str(tmp_path / "cli.exr"), *extra],
        capture_output=True, text=True, check=True,
    )
    return run.stdout.split("blake3 ")[1].strip()


def python_node_scene(folder, script, width, height, node="py", class_name="N"):
    """Writes `script` as node.py and scene.toml, a width x height image of
    one Python node `node` (class `class_name`), in `folder`; returns the
    scene's path."""
    (folder / "node.py").write_text(script)
    scene = folder / "scene.toml"
    scene.write_text(
        f"[image]\nwidth = {width}\nheight = {height}\n\n[nodes.{node}]\ntype = \"python\"\n"
        f"script = \"node.py\"\nclass = \"{class_name}\"\n\n[output]\ncolor = \"@{node}\"\n"
    )
    return scene


@pytest.mark.parametrize(
    "scene", ["scenes/showcase.toml", "scenes/python_ripples.toml", "scenes/python_counter.toml",
              "scenes/pynodes/tiles.toml", "scenes/python_sparkle.toml"],
)
def test_a_render_has_the_pixels_of_the_command_line(scene, tmp_path):
    image = tessera.render(ROOT / scene, threads=2, progress=False)
    assert image.dtype == numpy.float32 and image.shape[2] == 4
    assert tessera.pixel_hash(image) == cli_hash(ROOT / scene, tmp_path)


def test_python_nodes_in_worker_processes_give_the_same_pixels(tmp_path):
    scene = tessera.Scene.load(ROOT / "scenes/python_ripples.toml")
    in_threads = tessera.render(scene, threads=2, progress=False)
    assert tessera.pixel_hash(in_threads) == cli_hash(ROOT / "scenes/python_ripples.toml", tmp_path)
    in_processes = tessera.render(scene, threads=2, progress=False, workers="processes")
    assert numpy.array_equal(in_processes, in_threads)
    # The workers load the scene with its changes.
    scene.set("nodes.rings.wavelength", 0.11)
    changed = tessera.render(scene, threads=2, progress=False)
    assert not numpy.array_equal(changed, in_threads)
    assert numpy.array_equal(tessera.render(scene, threads=2, progress=False, workers="processes"), changed)
    with pytest.raises(ValueError, match="workers must be"):
        tessera.render(scene, workers="fibres")


def test_a_scene_loaded_by_a_relative_path_keeps_its_files_after_a_change_of_folder(tmp_path, monkeypatch):
    # The workers were given the path as it would be from the new folder,
    # and Scene.set looked for the scene's scripts from there.
    monkeypatch.chdir(ROOT)
    scene = tessera.Scene.load("scenes/python_ripples.toml")
    monkeypatch.chdir(tmp_path)
    assert scene.files()[:2] == [ROOT / "scenes/python_ripples.toml", ROOT / "scripts/ripples.py"]
    expected = cli_hash(ROOT / "scenes/python_ripples.toml", tmp_path)
    assert tessera.pixel_hash(tessera.render(scene, threads=2, progress=False, workers="processes")) == expected
    scene.set("image.width", 32)
    assert tessera.render(scene, threads=2, progress=False, workers="processes").shape == (90, 32, 4)


def test_the_workers_get_the_scenes_changes_as_set_made_them(tmp_path):
    # A texture named "@grid.png" ("@@grid.png" in a file and to set): the
    # changes gave it unescaped, a link the workers refused.
    shutil.copy(ROOT / "scenes/nodes/textures/grid16.png", tmp_path / "@grid.png")
    (tmp_path / "scene.toml").write_text(
        (ROOT / "scenes/nodes/image.toml").read_text().replace("textures/grid16.png", "@@grid.png")
        + "\n[nodes.py]\ntype = \"python\"\nscript = \"node.py\"\n"
        "class = \"N\"\nc = \"@texture\"\n")
    (tmp_path / "node.py").write_text(
        "import tessera\n\n\nclass N(tessera.Node):\n    inputs = {'c': tessera.Color()}\n"
        "    outputs = {'out': tessera.Color()}\n    pure = True\n\n"
        "    def __call__(self, ctx, c):\n        return (c[2], c[1], c[0])\n")
    scene = tessera.Scene.load(tmp_path / "scene.toml")
    scene.set("output.color", "@py")
    scene.set("nodes.texture.file", "@@grid.png")  # (as the file has it)
    # An animation's loop of sets: each key's last value, not every value
    # (4,000 of them were one argument too long to start a worker with).
    for step in range(4000):
        scene.set("nodes.placed.rotate", step / 100)
    assert scene.changes == [("output.color", "@py"), ("nodes.texture.file", "@@grid.png"),
                             ("nodes.placed.rotate", 39.99)]
    in_threads = tessera.render(scene, threads=2, progress=False)
    assert numpy.array_equal(tessera.render(scene, threads=2, progress=False, workers="processes"), in_threads)
    # And as a farm's worker makes the scene again.
    again = tessera.Scene.load(tmp_path / "scene.toml", scene.changes)
    assert numpy.array_equal(tessera.render(again, threads=2, progress=False), in_threads)


@pytest.mark.parametrize("where", ["import", "setup", "setup for the next render"])
def test_ctrl_c_while_a_script_imports_or_a_node_sets_up_is_keyboard_interrupt(tmp_path, where):
    # It was a SceneError (or TesseraError) whose message said
    # KeyboardInterrupt: `except Exception` went on past Ctrl-C.
    sleep = "    time.sleep(30)\n"
    python_node_scene(
        tmp_path,
        "import os\nimport time\nimport tessera\n\n"
        + ("if os.environ.get('SLEEP') == 'import':\n" + sleep if where == "import" else "")
        + "\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n\n    def setup(self):\n"
        "        if os.environ.get('SLEEP') == 'setup':\n        " + sleep
        + "\n    def __call__(self, ctx):\n        return 0.5\n",
        4, 4)
    renders_before = 1 if where == "setup for the next render" else 0
    program = (
        "import os, signal, threading, tessera\n"
        f"scene = tessera.Scene.load('scene.toml') if {renders_before} else None\n"
        f"for _ in range({renders_before}):\n    tessera.render(scene, progress=False)\n"
        f"os.environ['SLEEP'] = {where.split()[0]!r}\n"
        "threading.Timer(1, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    tessera.render(scene, progress=False) if scene else tessera.Scene.load('scene.toml')\n"
        "except Exception as error:\n"
        "    print('caught', type(error).__name__)\n"
    )
    run = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    # (Python ends on an uncaught KeyboardInterrupt by SIGINT.)
    assert run.returncode == -signal.SIGINT and run.stdout == "", (run.stdout, run.stderr)
    assert run.stderr.endswith("\nKeyboardInterrupt\n"), run.stderr


def test_a_scene_the_workers_cannot_load_is_reported_once(tmp_path):
    # Each worker raised it too, printing its traceback on the terminal
    # while the program went on.
    scene = python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n    pure = True\n\n"
        "    def __call__(self, ctx):\n        return 0.5\n",
        8, 8)
    program = (
        "import os\nimport time\nimport tessera\n"
        f"scene = tessera.Scene.load({str(scene)!r})\n"
        "os.remove(os.path.join(os.path.dirname(scene.path), 'node.py'))\n"
        "try:\n"
        "    tessera.render(scene, threads=2, progress=False, workers='processes')\n"
        "except tessera.TesseraError as error:\n"
        "    print(error)\n"
        "time.sleep(1)  # (the program going on)\n"
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == (
        "a Python worker process could not load the scene:\n"
        f"SceneError: error: node `py`: script \"node.py\" not found (looked for {tmp_path}/node.py)\n"
        f"  ┌─ {scene}:7:10\n"
        "  │\n"
        "7 │ script = \"node.py\"\n"
        "  │          ^^^^^^^^^ here\n\n"
        f"1 error in {scene}\n\n")


def test_a_scene_loaded_from_standard_input_reaches_the_worker_processes(tmp_path):
    # Only this process can read its standard input: the workers are given
    # the scene's text. Its relative paths are from the folder it was read
    # in, wherever the program goes after.
    scene = python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n"
        "    pure = True\n\n    def __call__(self, ctx):\n        return ctx.x / 8.0\n",
        8, 8,
    )
    program = (
        "import os\nimport tessera\n"
        "scene = tessera.Scene.load('/dev/stdin')\n"
        "os.chdir('/')\n"
        "image = tessera.render(scene, threads=2, progress=False, workers='processes')\n"
        "print(tessera.pixel_hash(image))\n"
    )
    with open(scene) as stdin:
        run = subprocess.run(
            [sys.executable, "-c", program], stdin=stdin, cwd=tmp_path,
            capture_output=True, text=True, timeout=120,
        )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == cli_hash(scene, tmp_path)


X_NODE = ("import tessera\n\n\nclass N(tessera.Node):\n    outputs = {\"out\": tessera.Float()}\n"
          "    pure = True\n\n    def __call__(self, ctx):\n        return ctx.x / 8.0\n")

# Unpickles the Scene in the file argv[1] and says what it is.
UNPICKLE = (
    "import pickle, sys, tessera\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    scene = pickle.load(f)\n"
    "print(repr(scene), scene.changes, [str(f) for f in scene.files()])\n"
    "print(tessera.pixel_hash(tessera.render(scene, threads=2, progress=False)))\n"
)


def test_a_pickled_scene_loads_again_with_its_changes_in_another_process_and_folder(tmp_path, monkeypatch):
    # Loaded by a relative path and changed; unpickled in another process
    # in another folder, it is the same scene, its script found from its
    # own folder, its workers setting kept.
    python_node_scene(tmp_path, X_NODE, 8, 8)
    monkeypatch.chdir(tmp_path)
    scene = tessera.Scene.load("scene.toml")
    scene.set("image.width", 12)
    scene.set("python.workers", "processes")
    expected = tessera.pixel_hash(tessera.render(scene, threads=2, progress=False))
    (tmp_path / "scene.pickle").write_bytes(pickle.dumps(scene))
    run = subprocess.run([sys.executable, "-c", UNPICKLE, tmp_path / "scene.pickle"], cwd="/",
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    files = [str(tmp_path / "scene.toml"), str(tmp_path / "node.py")]
    assert run.stdout == (f"<tessera.Scene scene.toml 12x8> [('image.width', 12), ('python.workers', 'processes')] "
                          f"{files}\n{expected}\n")
    duplicate = copy.deepcopy(scene)
    assert (repr(duplicate), duplicate.changes) == (repr(scene), scene.changes)


def test_a_scene_read_from_standard_input_pickles_with_its_text(tmp_path):
    # Standard input is read once: the pickle carries the text, and the
    # folder it was read in, where its script is.
    scene = python_node_scene(tmp_path, X_NODE, 8, 8)
    program = (
        "import pickle, sys, tessera\n"
        "scene = tessera.Scene.load('/dev/stdin')\n"
        "scene.set('image.height', 4)\n"
        "sys.stdout.buffer.write(pickle.dumps(scene))\n"
    )
    with open(scene) as stdin:
        run = subprocess.run([sys.executable, "-c", program], stdin=stdin, cwd=tmp_path,
                             capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    (tmp_path / "scene.pickle").write_bytes(run.stdout)
    run = subprocess.run([sys.executable, "-c", UNPICKLE, tmp_path / "scene.pickle"], cwd="/",
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    scene.write_text(scene.read_text().replace("height = 8", "height = 4"))
    assert run.stdout == (f"<tessera.Scene /dev/stdin 8x4> [('image.height', 4)] "
                          f"{['/dev/stdin', str(tmp_path / 'node.py')]}\n{cli_hash(scene, tmp_path)}\n")


def test_a_scene_rendered_again_keeps_its_worker_processes(tmp_path, capfd):
    """Worker processes start with a Scene's first render in them and serve
    its later ones (a farm's frames): each sets the node up once, whichever
    thread rendered first."""
    script = (
        "import os\n\nimport tessera\n\n\nclass N(tessera.Node):\n"
        "    outputs = {\"out\": tessera.Float()}\n    pure = True\n\n"
        "    def setup(self):\n        print(\"setup in\", os.getpid(), flush=True)\n\n"
        "    def __call__(self, ctx):\n        return ctx.frame / 4\n"
    )
    scene = tessera.Scene.load(python_node_scene(tmp_path, script, 32, 32))

    def render(frame, progress=False):
        return tessera.render(scene, threads=2, frame=frame, tile=16, progress=progress, workers="processes")

    def setups():
        return [line for line in capfd.readouterr().out.splitlines() if line.startswith("setup in ")]

    in_workers = {}
    # The first render on a thread that ends before the next render starts.
    first = threading.Thread(target=lambda: in_workers.update({1: render(1)}))
    first.start()
    first.join()
    in_workers.update({frame: render(frame) for frame in (2, 3)})
    # Once as the scene loaded here, then once in each of the two workers.
    assert len(setups()) == 3

    # A render stopped midway stops the workers it was waiting on; the next
    # render starts them again, and they serve the one after.
    def stop(done, total):
        if done == 2:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        render(9, progress=stop)
    assert numpy.array_equal(render(2), in_workers[2])
    setups()
    assert numpy.array_equal(render(3), in_workers[3])
    assert setups() == []
    # (A render in this process ends them.)
    for frame, image in in_workers.items():
        assert numpy.array_equal(image, tessera.render(scene, frame=frame, progress=False))


def test_frame_and_region_are_the_command_lines(tmp_path):
    scene = ROOT / "scenes/nodes/time.toml"
    image = tessera.render(scene, frame=12, progress=False)
    assert tessera.pixel_hash(image) == cli_hash(scene, tmp_path, "--frame", "12")
    whole = tessera.render(ROOT / "scenes/showcase.toml", progress=False)
    part = tessera.render(ROOT / "scenes/showcase.toml", region=(10, 7, 33, 21), tile=16, progress=False)
    assert part.shape == (21, 33, 4)
    assert numpy.array_equal(part, whole[7:28, 10:43])


def test_the_api_scripts_use_is_the_binarys_and_the_stubs_say_all():
    # tests/python/stubs.py compares a stub with a module. The package's
    # stub is the binary's (scripts/tessera.pyi, shipped as _node_api.pyi)
    # and the package's own names (__init__.pyi): together, the module.
    sys.path.insert(0, str(ROOT / "tests/python"))
    try:
        import stubs
    finally:
        sys.path.pop(0)
    installed = pathlib.Path(tessera.__file__).parent
    node_stub = (installed / "_node_api.pyi").read_text()
    assert node_stub == (ROOT / "scripts/tessera.pyi").read_text()
    package_stub = (installed / "__init__.pyi").read_text()
    found = stubs.differences(tessera, node_stub + "\n" + package_stub)
    # Left out: what Image inherits from numpy.ndarray, and the exceptions'
    # attributes, which Tessera sets on each instance it raises.
    set_on_raise = {"SceneError": ("path", "line", "column", "errors"),
                    "NodeError": ("node", "node_type", "pixel", "message", "traceback", "script", "line")}
    unchecked = {f"tessera.{cls}.{name}" for cls, names in set_on_raise.items() for name in names}
    unchecked |= {f"tessera.Image.{name}" for name in dir(numpy.ndarray)}
    assert [f for f in found if f.split(" ")[0].rstrip(":") not in unchecked] == []
    # The binary's stub alone lacks exactly the package's names.
    extra = {"Image", "NodeError", "OutputError", "Scene", "SceneError", "TesseraError", "pixel_hash", "render",
             "write"}
    found = stubs.differences(tessera, node_stub)
    assert sorted(found) == sorted(f"tessera.{name} is in the module, not in the stub" for name in extra)
    assert tessera.Node.__module__ == tessera.Context.__module__ == "tessera"


def test_a_python_node_defined_here_renders_as_in_the_binary(tmp_path):
    python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass Wave(tessera.Node):\n    inputs = {'uv': tessera.Vector2(tessera.TEXCOORD)}\n"
        "    outputs = {'out': tessera.Float()}\n    pure = True\n\n    def __call__(self, ctx, uv):\n"
        "        return (uv[0] * 7.0 + uv[1] * 3.0) % 1.0\n",
        24,
        16,
        node="w",
        class_name="Wave",
    )
    image = tessera.render(tmp_path / "scene.toml", threads=3, tile=8, progress=False)
    assert tessera.pixel_hash(image) == cli_hash(tmp_path / "scene.toml", tmp_path)


def _pixel_hash_of(scene):
    return tessera.pixel_hash(tessera.render(scene, threads=1, progress=False))


def test_a_forked_pool_renders_python_nodes_as_this_process_does():
    # Processes forked after `import tessera` (multiprocessing's default on
    # Linux before Python 3.14) render as any process does: only the copy
    # made by a node's own os.fork() is ended when it comes back into
    # Tessera. They used to end at their first node call, and the pool
    # waited for ever.
    scene = ROOT / "scenes/python_ripples.toml"
    expected = _pixel_hash_of(scene)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        hashes = pool.map_async(_pixel_hash_of, [scene, scene]).get(timeout=120)
    assert hashes == [expected, expected]


# The Scene forked children render: theirs by the fork's copy of memory.
_FORKED = {}


def _render_forked_copy(frame):
    image = tessera.render(_FORKED["scene"], threads=2, frame=frame, tile=16, progress=False, workers="processes")
    return tessera.pixel_hash(image)


def test_a_forked_copy_of_a_scene_with_workers_starts_its_own():
    # The parent's workers stay between its renders; a forked copy of its
    # Scene must neither use them (the sockets are shared) nor stop them.
    scene = tessera.Scene.load(ROOT / "scenes/python_ripples.toml")
    expected = tessera.pixel_hash(tessera.render(scene, threads=2, tile=16, progress=False, workers="processes"))
    _FORKED["scene"] = scene
    with multiprocessing.get_context("fork").Pool(2) as pool:
        hashes = pool.map_async(_render_forked_copy, [0, 0, 0, 0]).get(timeout=120)
    assert hashes == [expected] * 4
    again = tessera.render(scene, threads=2, tile=16, progress=False, workers="processes")
    assert tessera.pixel_hash(again) == expected


def test_renders_of_one_scene_in_two_threads_take_turns(tmp_path):
    # Each render renews the nodes that keep state and reseeds `random`; two
    # at once would see each other's halfway. Its value is how many frames
    # the instance has seen: 1 everywhere, unless renders overlap.
    script = (
        "import time\n\nimport tessera\n\n\nclass N(tessera.Node):\n"
        "    outputs = {\"out\": tessera.Float()}\n\n"
        "    def setup(self):\n        self.frames = set()\n\n"
        "    def __call__(self, ctx):\n        self.frames.add(ctx.frame)\n        time.sleep(0.0005)\n"
        "        return len(self.frames) / 4\n"
    )
    scene = tessera.Scene.load(python_node_scene(tmp_path, script, 16, 16))
    scene.set("python.policy", "free")
    images = {}

    def render(frame, workers):
        images[frame, workers] = tessera.render(scene, threads=2, frame=frame, tile=8, progress=False, workers=workers)

    for workers in ("threads", "processes"):
        threads = [threading.Thread(target=render, args=(frame, workers)) for frame in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert all(numpy.all(image[..., 0] == 0.25) for image in images.values()), sorted(
        (key, float(image[..., 0].max())) for key, image in images.items())


def _render_forked_copy_now(_):
    image = tessera.render(_FORKED["scene"], threads=1, frame=1, progress=False)
    return float(image[..., 0].max())


def test_a_fork_made_during_a_render_renders_its_copy(tmp_path):
    # The fork's copy of the Scene says a render is on: its parent's, which
    # it must not wait for (it would for ever).
    script = (
        "import time\n\nimport tessera\n\n\nclass N(tessera.Node):\n"
        "    outputs = {\"out\": tessera.Float()}\n    pure = True\n\n"
        "    def __call__(self, ctx):\n        time.sleep(0.002)\n        return ctx.frame / 4\n"
    )
    scene = tessera.Scene.load(python_node_scene(tmp_path, script, 32, 32))
    _FORKED["scene"] = scene
    started = threading.Event()
    parent = threading.Thread(
        target=tessera.render, args=(scene,),
        kwargs={"threads": 1, "tile": 8, "progress": lambda done, total: started.set()})
    parent.start()
    assert started.wait(timeout=60)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map_async(_render_forked_copy_now, [0]).get(timeout=60) == [0.25]
    parent.join()


def test_set_changes_a_value_as_the_file_would(tmp_path):
    scene = tessera.Scene.load(ROOT / "scenes/showcase.toml")
    before = tessera.pixel_hash(tessera.render(scene, progress=False))
    scene.set("nodes.warp.amplitude", 0.3)
    changed = tessera.render(scene, progress=False)
    edited = (ROOT / "scenes/showcase.toml").read_text()
    assert edited.count("amplitude = 0.6") == 1
    edited = edited.replace("amplitude = 0.6", "amplitude = 0.3")
    # The edited file's relative paths resolve from scenes/: put it there.
    copy = ROOT / "scenes" / f".package-test-{os.getpid()}.toml"
    copy.write_text(edited)
    try:
        assert tessera.pixel_hash(changed) == cli_hash(copy, tmp_path)
    finally:
        copy.unlink()
    assert tessera.pixel_hash(changed) != before


def test_a_bad_value_is_a_scene_error_naming_the_key_and_changes_nothing():
    scene = tessera.Scene.load(ROOT / "scenes/showcase.toml")
    before = tessera.pixel_hash(tessera.render(scene, progress=False))
    with pytest.raises(tessera.SceneError) as raised:
        scene.set("nodes.warp.amplitude", "loud")
    assert str(raised.value) == ('scene.set("nodes.warp.amplitude", "loud"): node `warp`, input `amplitude`: '
                                 'expected a float, found a string')
    assert raised.value.line is None and raised.value.errors
    with pytest.raises(tessera.SceneError, match="the scene has no node `nope`") as missing:
        scene.set("nodes.nope.amplitude", 1.0)
    assert missing.value.line is None and missing.value.errors == ["the scene has no node `nope`"]
    with pytest.raises(ValueError, match="expected \"nodes.ID.INPUT\""):
        scene.set("grain", 1.0)
    assert tessera.pixel_hash(tessera.render(scene, progress=False)) == before


def test_a_bad_scene_file_is_a_located_scene_error(tmp_path):
    (tmp_path / "bad.toml").write_text("[image]\nwidth = 8\nheight = 8\n\n[nodes.n]\ntype = \"noise9d\"\n\n"
                                       "[output]\ncolor = \"@n\"\n")
    with pytest.raises(tessera.SceneError) as raised:
        tessera.Scene.load(tmp_path / "bad.toml")
    error = raised.value
    assert (error.path, error.line, error.column) == (tmp_path / "bad.toml", 6, 8)
    assert "unknown node type `noise9d`" in str(error)
    assert isinstance(error, tessera.TesseraError)


def test_a_failing_node_is_a_node_error_with_its_pixel_and_traceback(tmp_path):
    python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n\n"
        "    def __call__(self, ctx):\n        if (ctx.x, ctx.y) == (5, 3):\n"
        "            raise ValueError('bad pixel')\n        return 0.0\n",
        8,
        6,
    )
    with pytest.raises(tessera.NodeError) as raised:
        tessera.render(tmp_path / "scene.toml", progress=False)
    error = raised.value
    assert (error.node, error.node_type, error.pixel) == ("py", "python", (5, 3))
    assert error.message.startswith("ValueError: bad pixel (in N.__call__, ")
    assert error.message.endswith("node.py:9)")
    assert (pathlib.Path(error.script).name, error.line) == ("node.py", 9)
    assert "raise ValueError('bad pixel')" in error.traceback


def test_progress_is_reported_tile_by_tile():
    seen = []
    tessera.render(ROOT / "scenes/showcase.toml", tile=64, progress=lambda done, total: seen.append((done, total)))
    total = (640 // 64) * ((360 + 63) // 64)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_an_exception_in_the_progress_callback_stops_the_render():
    def fail(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        tessera.render(ROOT / "scenes/showcase.toml", progress=fail)


def test_the_gil_is_released_while_native_work_runs():
    counted = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            counted[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = counted[0]
        tessera.render(ROOT / "scenes/showcase.toml", threads=1, progress=False)
        during = counted[0] - before
    finally:
        done.set()
        counter.join()
    # Held through the render, the GIL would let the counter run only at
    # the switch interval's hand-overs; released, it counts all along.
    assert during > 10_000


def test_write_writes_the_command_lines_file(tmp_path):
    scene = ROOT / "scenes/showcase.toml"
    image = tessera.render(scene, progress=False)
    for name in ("package.png", "package.exr"):
        tessera.write(image, tmp_path / name)
        suffix = name.split(".")[1]
        subprocess.run([TESSERA, "render", str(scene), "-o", str(tmp_path / f"cli.{suffix}"), "-q"], check=True)
        ours = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        theirs = hashlib.sha256((tmp_path / f"cli.{suffix}").read_bytes()).hexdigest()
        assert ours == theirs, name
    with pytest.raises(tessera.OutputError, match="unknown colour space"):
        tessera.write(image, tmp_path / "x.png", colorspace="sRGB-ish")
    with pytest.raises(tessera.OutputError, match="shape"):
        tessera.write(numpy.zeros((4, 4, 3), dtype=numpy.float32), tmp_path / "x.png")
    # (An EXR of no pixels was written; a PNG's encoder refused it.)
    for name in ["x.exr", "x.png"]:
        with pytest.raises(tessera.OutputError, match="^an image has at least one pixel, not 4 x 0$"):
            tessera.write(numpy.zeros((0, 4, 4), dtype=numpy.float32), tmp_path / name)
    tessera.write(image, tmp_path / "x16.png", depth=numpy.int64(16))
    for depth in [True, 16.0]:
        with pytest.raises(tessera.OutputError, match="^depth must be 8, 16, 32 or \"half\""):
            tessera.write(image, tmp_path / "x.png", depth=depth)
    (tmp_path / "x16.png").unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.exr", "cli.png", "package.exr", "package.png"]


def test_an_image_shows_itself_as_png():
    image = tessera.render(ROOT / "scenes/nodes/checkerboard.toml", progress=False)
    assert isinstance(image, tessera.Image)
    assert image._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")
    # What is no image any more shows as an array (it raised, and Jupyter
    # printed the formatter's traceback).
    for not_an_image in [image[..., :3], image.astype(numpy.float64), image[:0]]:
        assert not_an_image._repr_png_() is None


def test_a_materialx_document_renders_as_on_the_command_line(tmp_path):
    document = ROOT / "tests/materialx/pattern.mtlx"
    scene = tessera.Scene.load(document)
    scene.set("image.width", 48)
    scene.set("image.height", 32)
    scene.set("nodes.NG_pattern__grain.amplitude", 0.25)
    image = tessera.render(scene, progress=False)
    assert image.shape == (32, 48, 4)
    edited = document.read_text().replace('name="amplitude" type="float" value="0.5"',
                                          'name="amplitude" type="float" value="0.25"')
    copy = tmp_path / "pattern.mtlx"
    copy.write_text(edited)
    assert tessera.pixel_hash(image) == cli_hash(copy, tmp_path, "--size", "48x32")


def test_set_takes_numpy_scalars_and_names_a_value_it_cannot_take():
    scene = tessera.Scene.load(ROOT / "scenes/nodes/time.toml")
    scene.set("image.width", numpy.int64(48))
    scene.set("image.height", numpy.int32(40))
    scene.set("image.fps", numpy.float32(12.5))
    assert scene.size == (48, 40)
    assert scene.changes == [("image.width", 48), ("image.height", 40), ("image.fps", 12.5)]
    bad = [
        ("python.policy", "chaotic",
         'scene.set("python.policy", "chaotic"): [python] policy must be one of free, exclusive, ordered, isolated, '
         'found "chaotic"'),
        ("image.width", {"a": 1},
         "scene.set(\"image.width\", {'a': 1}): a dict is not a scene value: set a table's keys one by one"),
        ("image.width", 10**30,
         f'scene.set("image.width", {10**30}): {10**30} is out of range: a scene\'s integers are 64-bit, '
         "-9223372036854775808 to 9223372036854775807"),
        ("image.width", None,
         'scene.set("image.width", None): a scene value is a number, a boolean, a string or a list of these, '
         "not NoneType"),
    ]
    for key, value, message in bad:
        with pytest.raises(tessera.SceneError) as raised:
            scene.set(key, value)
        assert str(raised.value) == message
    assert scene.size == (48, 40) and len(scene.changes) == 3


def test_set_takes_numpy_booleans(tmp_path):
    # They were taken as the number 1.0, which a boolean input refused.
    scene = tessera.Scene.load(python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass N(tessera.Node):\n    inputs = {'flag': tessera.Bool(False)}\n"
        "    outputs = {'out': tessera.Float()}\n    pure = True\n\n"
        "    def __call__(self, ctx, flag):\n        return 1.0 if flag else 0.0\n",
        4, 4))
    scene.set("nodes.py.flag", numpy.True_)
    assert scene.changes == [("nodes.py.flag", True)]
    assert tessera.render(scene, progress=False)[0, 0, 0] == 1.0


def test_render_names_an_argument_out_of_range():
    scene = tessera.Scene.load(ROOT / "scenes/nodes/time.toml")
    bad = [
        ({"region": (-1, 0, 10, 10)}, "region (-1, 0, 10, 10) (x, y, width, height) is not a non-empty part of the "
                                      "64 x 64 image"),
        ({"region": (2**40, 0, 1, 1)}, f"region ({2**40}, 0, 1, 1) (x, y, width, height) is not a non-empty part of the "
                                       "64 x 64 image"),
        # (Its end past i64: it wrapped, and a region of the image was rendered.)
        ({"region": (2**63 - 2**32, 0, 2**32 + 5, 10)},
         f"region ({2**63 - 2**32}, 0, {2**32 + 5}, 10) (x, y, width, height) is not a non-empty part of the "
         "64 x 64 image"),
        ({"tile": -1}, "tile must be from 1 to 4294967295 pixels, not -1"),
        ({"threads": -1}, "threads must be from 0 (every core) to 1024, not -1"),
        # (As the command: it tried to start them all.)
        ({"threads": 100000}, "threads must be from 0 (every core) to 1024, not 100000"),
    ]
    for arguments, message in bad:
        with pytest.raises(ValueError) as raised:
            tessera.render(scene, progress=False, **arguments)
        assert str(raised.value) == message
    # A region as a list or an array, as a tuple.
    corner = tessera.render(scene, progress=False, region=(0, 0, 8, 4))
    for region in [[0, 0, 8, 4], numpy.array([0, 0, 8, 4])]:
        assert numpy.array_equal(tessera.render(scene, progress=False, region=region), corner)


def test_a_render_of_the_scene_from_its_own_progress_callback_is_refused(tmp_path):
    # It waited for the render that called it: a hang Ctrl-C did not end.
    scene = tessera.Scene.load(ROOT / "scenes/nodes/frame.toml")
    inner = []

    def render_again(done, total):
        if not inner:
            with pytest.raises(tessera.TesseraError) as raised:
                tessera.render(scene, progress=False)
            inner.append(str(raised.value))
            # Another Scene of the file renders.
            inner.append(tessera.render(tessera.Scene.load(ROOT / "scenes/nodes/frame.toml"), progress=False))

    image = tessera.render(scene, tile=16, progress=render_again)
    assert inner[0] == (
        "this scene is rendering on this thread already (a render from its progress callback would wait for "
        "itself): render it after that render returns, or render another Scene.load of its file")
    assert numpy.array_equal(inner[1], image)


def test_set_while_a_render_of_the_scene_runs_changes_the_next_render(tmp_path):
    # From the render's own progress callback, and from another thread while
    # it renders: the render goes on with the scene it began with.
    scene = tessera.Scene.load(ROOT / "scenes/nodes/time.toml")
    seen = []

    def set_once(done, total):
        if not seen:
            scene.set("image.width", 32)
        seen.append(done)

    assert tessera.render(scene, tile=16, progress=set_once).shape == (64, 64, 4)
    assert tessera.render(scene, progress=False).shape == (64, 32, 4)

    started, go_on = threading.Event(), threading.Event()
    images = []

    def wait_after_start(done, total):
        started.set()
        go_on.wait(timeout=60)

    thread = threading.Thread(target=lambda: images.append(tessera.render(scene, tile=16, progress=wait_after_start)))
    thread.start()
    try:
        assert started.wait(timeout=60)
        scene.set("image.width", 16)
    finally:
        go_on.set()
        thread.join()
    assert images[0].shape == (64, 32, 4)
    assert tessera.render(scene, progress=False).shape == (64, 16, 4)


def test_write_and_pixel_hash_say_what_is_not_an_image(tmp_path):
    for array, given in [(numpy.zeros((4, 4, 4)), "a float64 array of shape (4, 4, 4)"),
                         (numpy.zeros((4, 4), dtype=numpy.float32), "a float32 array of shape (4, 4)"),
                         ([0.5, 0.5], "a list")]:
        message = f"an image is a float32 array of shape (height, width, 4), not {given}"
        with pytest.raises(tessera.OutputError) as raised:
            tessera.write(array, tmp_path / "x.png")
        assert str(raised.value) == message
        with pytest.raises(tessera.OutputError) as raised:
            tessera.pixel_hash(array)
        assert str(raised.value) == message
    assert list(tmp_path.iterdir()) == []


def test_write_takes_the_depth_as_a_number_or_a_string(tmp_path):
    image = tessera.render(ROOT / "scenes/nodes/checkerboard.toml", progress=False)
    for depth in (16, "16"):
        tessera.write(image, tmp_path / f"{depth!r}.png", depth=depth)
    assert (tmp_path / "16.png").read_bytes() == (tmp_path / "'16'.png").read_bytes()
    tessera.write(image, tmp_path / "x.exr", depth=32)
    with pytest.raises(tessera.OutputError) as raised:
        tessera.write(image, tmp_path / "x.png", depth=24)
    assert str(raised.value) == 'depth must be 8, 16, 32 or "half" (or "8", "16", "32"), not 24'


def test_write_and_pixel_hash_take_a_big_endian_array_and_write_takes_a_bytes_path(tmp_path):
    image = tessera.render(ROOT / "scenes/nodes/checkerboard.toml", progress=False)
    big = image.astype(">f4")  # the values, each byte-swapped in memory
    assert big.tobytes() != image.tobytes()
    for name in ["x.png", "x.exr"]:
        tessera.write(image, tmp_path / f"native_{name}")
        tessera.write(big, tmp_path / f"big_{name}")
        assert (tmp_path / f"big_{name}").read_bytes() == (tmp_path / f"native_{name}").read_bytes()
    assert tessera.pixel_hash(big) == tessera.pixel_hash(image)
    assert tessera.pixel_hash(big[:, ::2]) == tessera.pixel_hash(image[:, ::2])

    class BytesPath:
        def __fspath__(self):
            return os.fsencode(tmp_path / "fspath.png")

    # A name that is no UTF-8 is written as its bytes say.
    for path in [os.fsencode(tmp_path / "bytes.png"), os.fsencode(tmp_path) + b"/\xff.png", BytesPath()]:
        tessera.write(image, path)
    for name in [b"bytes.png", b"\xff.png", b"fspath.png"]:
        assert (tmp_path / os.fsdecode(name)).read_bytes() == (tmp_path / "native_x.png").read_bytes()
    for path, message in [(3, "path: expected str, bytes or os.PathLike object, not int"),
                          (None, "path: expected str, bytes or os.PathLike object, not NoneType")]:
        with pytest.raises(tessera.OutputError) as raised:
            tessera.write(image, path)
        assert str(raised.value) == message
    with pytest.raises(tessera.OutputError) as raised:
        tessera.write(image.astype(">f8"), tmp_path / "f8.png")
    assert str(raised.value) == "an image is a float32 array of shape (height, width, 4), not a >f8 array of shape (64, 64, 4)"
    assert len(list(tmp_path.iterdir())) == 7


def test_the_package_is_typed_and_lists_each_public_name_once():
    # PEP 561: without py.typed, type checkers ignore the shipped stubs.
    assert (pathlib.Path(tessera.__file__).parent / "py.typed").is_file()
    assert len(set(tessera.__all__)) == len(tessera.__all__)
    assert [name for name in tessera.__all__ if name.startswith("_") or not hasattr(tessera, name)] == []
    assert "`script` and `line`" in tessera.NodeError.__doc__
