"""tessera.dask and python -m tessera.farm on a LocalCluster of 2 worker
processes started here (no outside service): frames and stitched regions
with the pixels of one machine's render, and failures named."""

import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy
import pytest

import tessera
import tessera.dask
from test_package import ROOT, TESSERA, cli_hash, python_node_scene

import distributed  # noqa: E402  (scripts/test-package installs it)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    tessera.dask._close_local_client(client)


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("scene", ["scenes/nodes/time.toml", "scenes/python_counter.toml", "scenes/pynodes/starfield.toml"])
def test_a_frame_range_gives_the_command_lines_files(scene, client, tmp_path):
    written = tessera.dask.render_frames(ROOT / scene, range(1, 4), str(tmp_path / "farm_{frame:02}.png"), client=client)
    assert written == [str(tmp_path / f"farm_{frame:02}.png") for frame in (1, 2, 3)]
    subprocess.run([TESSERA, "render", str(ROOT / scene), "--frames", "1-3", "-o", str(tmp_path / "cli_{frame:02}.png"),
                    "-q"], check=True)
    for frame in (1, 2, 3):
        assert sha256(tmp_path / f"farm_{frame:02}.png") == sha256(tmp_path / f"cli_{frame:02}.png"), frame


def test_regions_stitched_give_the_one_machine_render(client, tmp_path):
    for scene, size in [("scenes/showcase.toml", 100), ("scenes/python_sparkle.toml", (48, 40))]:
        image = tessera.dask.render_image(ROOT / scene, region_size=size, client=client)
        assert tessera.pixel_hash(image) == cli_hash(ROOT / scene, tmp_path), scene


def test_the_job_carries_its_files_and_changes(client, tmp_path):
    # A script importing its neighbour, in a folder that is gone before the
    # workers run: they render from the files the job carries.
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "shades.py").write_text("LEVEL = 0.25\n")
    python_node_scene(
        folder,
        "import tessera\nimport shades\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n"
        "    pure = True\n\n    def __call__(self, ctx):\n        return shades.LEVEL + ctx.u * 0.5\n",
        16,
        8,
        node="n",
    )
    scene = tessera.Scene.load(folder / "scene.toml")
    scene.set("image.width", 24)
    expected = tessera.render(scene, progress=False)
    job = client.scatter(tessera.dask._Job(scene), broadcast=True)
    shutil.rmtree(folder)
    image = client.submit(tessera.dask._render_task, job, 0, None, 1, pure=False).result()
    assert image.shape == (8, 24, 4)
    assert numpy.array_equal(image, expected)


def test_a_failing_frame_is_named_with_its_nodes_message(client, tmp_path):
    python_node_scene(
        tmp_path,
        "import time\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n"
        "    pure = True\n\n"
        "    def __call__(self, ctx):\n        if ctx.frame in (2, 4):\n"
        "            time.sleep(1 if ctx.frame == 2 else 0)\n"
        "            raise ValueError(f'no frame {ctx.frame}')\n"
        "        return 0.5\n",
        8,
        4,
        node="n",
    )
    out = tmp_path / "out"
    out.mkdir()
    # Frame 2, though frame 4 fails first: the error named whichever ended
    # first.
    with pytest.raises(tessera.dask.FarmError) as raised:
        tessera.dask.render_frames(tmp_path / "scene.toml", [1, 2, 3, 4], str(out / "f_{frame}.png"), client=client,
                                   retries=0)
    error = raised.value
    assert error.frame == 2 and error.region is None
    assert str(error).startswith("frame 2 failed: NodeError: node `n` (python) failed at pixel (0, 0): ValueError: no frame 2")
    assert not (out / "f_2.png").exists()
    assert all(not p.name.endswith(".tmp") for p in out.iterdir())


def test_the_farm_command_writes_the_range_and_names_a_failure(tmp_path):
    scene = ROOT / "scenes/nodes/time.toml"
    run = subprocess.run(
        [sys.executable, "-m", "tessera.farm", str(scene), "--frames", "2-3", "-o", str(tmp_path / "f_{frame}.png"),
         "--workers", "2", "-q"],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    subprocess.run([TESSERA, "render", str(scene), "--frame", "3", "-o", str(tmp_path / "cli.png"), "-q"], check=True)
    assert sha256(tmp_path / "f_3.png") == sha256(tmp_path / "cli.png")
    bad = subprocess.run([sys.executable, "-m", "tessera.farm", str(scene), "--frames", "2-3", "-o",
                          str(tmp_path / "same.png"), "--workers", "1"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "the output needs {frame} or {frame:04} in its name" in bad.stderr


def test_a_relative_scene_path_and_the_scenes_colour_space(client, tmp_path, monkeypatch):
    # A scene given relative to the working folder, writing its PNGs in the
    # colour space its [output] names: the command's files.
    scene = tmp_path / "linear.toml"
    text = (ROOT / "scenes/nodes/time.toml").read_text()
    scene.write_text(text.replace("[output]", "[output]\ncolorspace = \"lin_rec709\"", 1))
    monkeypatch.chdir(tmp_path)
    written = tessera.dask.render_frames("linear.toml", [5], "farm_{frame}.png", client=client)
    assert written == ["farm_5.png"]
    subprocess.run([TESSERA, "render", "linear.toml", "--frame", "5", "-o", "cli.png", "-q"], check=True)
    assert sha256(tmp_path / "farm_5.png") == sha256(tmp_path / "cli.png")


def test_a_worker_lost_in_a_region_is_named_and_nothing_is_written(tmp_path):
    # A node ending its process takes the Dask worker with it: with no retry
    # allowed, the region is reported as lost, and no file is written.
    import dask

    python_node_scene(
        tmp_path,
        "import os\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n"
        "    pure = True\n\n    def __call__(self, ctx):\n        if ctx.x >= 8:\n            os._exit(7)\n"
        "        return 0.5\n",
        16,
        4,
        node="n",
    )
    # No retry, and no task queued on a worker beside the one it runs.
    config = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(config):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
        try:
            with pytest.raises(tessera.dask.FarmError) as raised:
                tessera.dask.render_image(tmp_path / "scene.toml", region_size=(8, 4), output=str(tmp_path / "out.exr"),
                                          client=client, retries=0)
        finally:
            # (Bounded: a nanny is starting a worker in place of the one lost.)
            tessera.dask._close_local_client(client)
    error = raised.value
    assert (error.frame, error.region) == (0, (8, 0, 8, 4))
    assert str(error).startswith("frame 0, region (8, 0, 8, 4) failed: KilledWorker: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.py", "scene.toml"]


def farm_command(*arguments, env=None):
    """`python -m tessera.farm ARGUMENTS`, its output captured; a farm that
    has not ended in two minutes is a failure (TimeoutExpired), not a hang."""
    return subprocess.run([sys.executable, "-m", "tessera.farm", *map(str, arguments)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_frame_that_kills_its_workers_is_named_and_the_other_frames_written(tmp_path):
    # Every worker that takes frame 3 dies. The job used to be scattered
    # data, lost with the workers holding it: every task was cancelled and
    # the error named whichever frame came first.
    python_node_scene(
        tmp_path,
        "import os\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n"
        "    pure = True\n\n    def __call__(self, ctx):\n        if ctx.frame == 3:\n            os._exit(7)\n"
        "        return ctx.frame / 10\n",
        8,
        4,
        node="n",
    )
    out = tmp_path / "out"
    out.mkdir()
    run = farm_command(tmp_path / "scene.toml", "--frames", "1-5", "-o", out / "f_{frame}.exr", "--workers", "2", "-q")
    assert run.returncode == 3, run.stderr
    # Dask's own log (workers lost, restarted) only under --verbose.
    assert run.stderr == (
        "error: frame 3 failed: KilledWorker: the worker process rendering it died, on each of the 4 workers that "
        "tried (a node ending or crashing its process, or running out of memory, does this)\n")
    assert sorted(p.name for p in out.iterdir()) == ["f_1.exr", "f_2.exr", "f_4.exr", "f_5.exr"]
    shutil.rmtree(out)
    out.mkdir()
    run = farm_command(tmp_path / "scene.toml", "--frames", "3", "-o", out / "f_{frame}.exr", "--workers", "1", "-q",
                       "--verbose")
    assert run.returncode == 3, run.stderr
    assert "distributed.nanny - WARNING - Restarting worker" in run.stderr, run.stderr


def test_a_failing_frame_names_the_users_script_not_the_workers_copy(client, tmp_path, monkeypatch):
    python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n    pure = True\n\n"
        "    def __call__(self, ctx):\n        raise ValueError('never')\n",
        8,
        4,
        node="n",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tessera.dask.FarmError) as raised:
        tessera.dask.render_frames("scene.toml", [1], "f_{frame}.png", client=client, retries=0)
    # As a local render names it: relative to the working folder.
    assert str(raised.value) == (
        "frame 1 failed: NodeError: node `n` (python) failed at pixel (0, 0): ValueError: never (in N.__call__, "
        "node.py:9)")
    node_error = raised.value.__cause__
    assert (node_error.script, node_error.line) == ("node.py", 9)
    assert f'File "{tmp_path / "node.py"}", line 9' in node_error.traceback


def test_an_output_given_as_bytes_is_written(client, tmp_path):
    scene = ROOT / "scenes/nodes/checkerboard.toml"
    frames = tessera.dask.render_frames(scene, [1], os.fsencode(tmp_path / "f_{frame}.png"), client=client)
    assert frames == [str(tmp_path / "f_1.png")]
    image = tessera.dask.render_image(scene, region_size=32, output=os.fsencode(tmp_path / "i.png"), client=client)
    tessera.write(image, tmp_path / "here.png")
    assert sha256(tmp_path / "f_1.png") == sha256(tmp_path / "i.png") == sha256(tmp_path / "here.png")


def test_an_output_folder_that_does_not_exist_is_refused_before_rendering_as_the_command_refuses_it(
        client, tmp_path, monkeypatch):
    # A node that fails: rendered first, the error would be the farm's.
    python_node_scene(
        tmp_path,
        "import tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n\n"
        "    def __call__(self, ctx):\n        raise RuntimeError('rendered')\n",
        8, 8,
    )
    monkeypatch.chdir(tmp_path)
    template = "missing/dir/frame_{frame:04}.png"
    command = subprocess.run([TESSERA, "render", "scene.toml", "--frames", "1-2", "-o", template],
                             capture_output=True, text=True)
    message = "cannot write missing/dir/frame_0001.png: directory missing/dir does not exist"
    assert (command.returncode, command.stderr) == (1, f"error: {message}\n")
    with pytest.raises(tessera.OutputError) as raised:
        tessera.dask.render_frames("scene.toml", [1, 2], template, client=client)
    assert str(raised.value) == message
    with pytest.raises(tessera.OutputError) as raised:
        tessera.dask.render_image("scene.toml", output="missing/image.exr", client=client)
    assert str(raised.value) == "cannot write missing/image.exr: directory missing does not exist"
    farm = farm_command("scene.toml", "--frames", "1-2", "-o", template, "--workers", "1")
    assert (farm.returncode, farm.stderr) == (command.returncode, command.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.py", "scene.toml"]


def test_the_farm_command_checks_its_arguments_and_output_up_front(tmp_path):
    scene = ROOT / "scenes/nodes/time.toml"
    bad = [
        (["-o", tmp_path / "x_{frame}.xyz"], 1,
         f"error: cannot write {tmp_path}/x_1.xyz: '.xyz' is not a supported image format "
         "(supported extensions: png, jpg, jpeg, exr)"),
        (["-o", tmp_path / "x_{frame}_{name}.exr"], 2,
         f"error: the output '{tmp_path}/x_{{frame}}_{{name}}.exr': {{name}} is not a field it can have; "
         "only {frame} (or {frame:04}) is"),
        (["-o", tmp_path / "x_{frame}.exr", "--workers", "-1"], 2, "error: argument --workers: expected 1 or more, not -1"),
        (["-o", tmp_path / "x_{frame}.exr", "--scheduler", "tcp://127.0.0.1:1"], 1,
         "error: cannot reach the Dask scheduler at tcp://127.0.0.1:1: Timed out trying to connect to "
         "tcp://127.0.0.1:1 after 1 s"),
    ]
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s")
    for arguments, code, message in bad:
        run = farm_command(scene, "--frames", "1-2", *arguments, env=env)
        assert (run.returncode, run.stderr) == (code, message + "\n"), arguments
    assert list(tmp_path.iterdir()) == []


def test_arguments_the_farm_cannot_use_are_refused_before_it_renders(client, tmp_path):
    # A negative region size gave an image never rendered (numpy.empty's
    # memory); frames given twice wrote one file twice; an output over a
    # texture the scene reads replaced the texture.
    scene = tessera.Scene.load(ROOT / "scenes/nodes/image.toml")
    for size, shown in [(-20, "-20"), (0, "0"), ((8, 0), "(8, 0)"), ("8", "'8'"), (2.5, "2.5")]:
        with pytest.raises(ValueError) as raised:
            tessera.dask.render_image(scene, region_size=size, client=client)
        assert str(raised.value) == (
            f"region_size must be a number of pixels from 1, or a (width, height) pair of them, not {shown}")
    one_machine = tessera.render(scene, progress=False)
    assert numpy.array_equal(tessera.dask.render_image(scene, region_size=numpy.int64(24), client=client), one_machine)
    with pytest.raises(ValueError, match="^frame 2 is given twice$"):
        tessera.dask.render_frames(scene, [1, 2, 2], str(tmp_path / "f_{frame}.png"), client=client)
    texture = ROOT / "scenes/nodes/textures/grid16.png"
    before = sha256(texture)
    with pytest.raises(ValueError) as raised:
        tessera.dask.render_image(scene, output=texture, client=client)
    assert str(raised.value) == (
        f"the output {texture} is a file the scene reads; it would be overwritten. Choose another output")
    run = farm_command(ROOT / "scenes/nodes/image.toml", "--frames", "1", "-o", texture, "--workers", "1")
    assert (run.returncode, run.stderr) == (2, f"error: {raised.value}\n")
    assert sha256(texture) == before
    # A path as the output's template.
    assert tessera.dask.render_frames(scene, [3], tmp_path / "f_{frame}.png", client=client) == [
        str(tmp_path / "f_3.png")]
    assert list(tmp_path.iterdir()) == [tmp_path / "f_3.png"]


def test_ctrl_c_stops_the_farm_command_with_one_line(tmp_path):
    # Ctrl-C reaches the whole foreground group: the command ended on a
    # KeyboardInterrupt traceback (killed by SIGINT), and each Dask worker
    # printed one of its own, 85 lines in all.
    python_node_scene(
        tmp_path,
        "import time\nimport tessera\n\n\nclass N(tessera.Node):\n    outputs = {'out': tessera.Float()}\n"
        "    pure = True\n\n    def __call__(self, ctx):\n        time.sleep(0.005)\n        return ctx.x / 16\n",
        16,
        16,
        node="n",
    )
    out = tmp_path / "out"
    out.mkdir()
    farm = subprocess.Popen([sys.executable, "-m", "tessera.farm", tmp_path / "scene.toml", "--frames", "1-40", "-o",
                             out / "f_{frame}.png", "--workers", "2", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "f_1.png").exists() and farm.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(farm.pid, signal.SIGINT)  # as the terminal's Ctrl-C
        stdout, stderr = farm.communicate(timeout=60)
    finally:
        if farm.poll() is None:
            os.killpg(farm.pid, signal.SIGKILL)
    assert (farm.returncode, stderr) == (130, "error: interrupted (Ctrl-C); the frames written before it are whole\n")
    assert all(p.suffix == ".png" for p in out.iterdir())
