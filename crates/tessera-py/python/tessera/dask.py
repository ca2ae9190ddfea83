"""Render farms on Dask: the frames or the regions of a scene rendered on a
cluster's workers, with the pixels of a one-machine render.

    import tessera.dask
    tessera.dask.render_frames("scenes/showcase.toml", range(1, 25), "out/frame_{frame:04}.exr")
    image = tessera.dask.render_image(scene, region_size=256)

Dask's distributed scheduler runs the tasks (`pip install "dask[distributed]"`):
a LocalCluster on this machine by default, or any cluster through its
`distributed.Client` (Kubernetes, SLURM through dask-jobqueue, a cloud).
Workers need no shared file system: the scene file, every file it reads
(images, Python scripts) and the Python files beside each script go to the
workers with the job, with every `Scene.set` change. Images come back to the
client, which writes each as the `tessera` command does (a temporary file
renamed into place), so a failed job leaves no partial file.
See docs/python-api.md.
"""

import asyncio
import atexit
import contextlib
import hashlib
import logging
import operator
import os
import pathlib
import shutil
import signal
import tempfile
import warnings

import tessera

__all__ = ["render_frames", "render_image", "FarmError", "local_client"]


class FarmError(tessera.TesseraError):
    """A task of a farm failed: `frame`, `region` ((x, y, width, height) or
    None) and `reason` (the node's message, or what happened to the worker)."""

    def __init__(self, message, frame=None, region=None, reason=""):
        super().__init__(message)
        self.frame, self.region, self.reason = frame, region, reason


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            'tessera.dask needs Dask\'s distributed scheduler: pip install "dask[distributed]"',
            name="distributed",
        ) from None
    return distributed


class _Job:
    """A scene as workers receive it: its files by path relative to their
    common folder, the scene's own path among them, and the changes made
    with Scene.set. Picklable."""

    def __init__(self, scene):
        # Resolved: the scene's path is as given (perhaps relative), its
        # nodes' files canonical.
        files = [pathlib.Path(f).resolve() for f in scene.files()]
        # Scripts import their neighbours: every Python file beside one goes too.
        for script in [f for f in files if f.suffix == ".py"]:
            files += sorted(p for p in script.parent.glob("*.py") if p not in files)
        root = pathlib.Path(os.path.commonpath([str(f.parent) for f in files]))
        self.files = {str(f.relative_to(root)): f.read_bytes() for f in files}
        self.scene = str(files[0].relative_to(root))
        self.changes = list(scene.changes)
        # The folder of the user's files: its path (for tracebacks) and the
        # prefix a local render's messages give its files (relative to the
        # working folder when inside it), for errors naming the job's files
        # as the user's rather than as a worker's copies.
        self.root = os.path.join(str(root), "")
        cwd = pathlib.Path.cwd()
        inside = root == cwd or cwd in root.parents
        self.shown_root = "" if root == cwd else os.path.join(str(root.relative_to(cwd) if inside else root), "")
        digest = hashlib.sha256(repr((self.scene, self.changes)).encode())
        for name, data in sorted(self.files.items()):
            digest.update(name.encode())
            digest.update(data)
        self.digest = digest.hexdigest()


# Per worker process: the scenes its tasks loaded, by job, oldest first,
# with their folders; a few are kept, and a folder goes with its scene or
# when the worker ends.
_loaded = {}
_KEPT = 4


def _scene(job):
    """The job's scene on this worker, and the folder of its own its files
    were written to: loaded once per worker process."""
    if job.digest in _loaded:
        return _loaded[job.digest]
    while len(_loaded) >= _KEPT:
        _, old_folder = _loaded.pop(next(iter(_loaded)))
        shutil.rmtree(old_folder, ignore_errors=True)
    # Resolved: as the scene's messages and tracebacks name its files.
    folder = pathlib.Path(tempfile.mkdtemp(prefix="tessera-job-")).resolve()
    atexit.register(shutil.rmtree, folder, True)
    for relative, data in job.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    scene = tessera.Scene.load(folder / job.scene, job.changes)
    _loaded[job.digest] = (scene, folder)
    return scene, folder


def _name_the_users_files(error, folder, job):
    """Names the job's files in a NodeError as the user's instead of this
    worker's copies in `folder`: in its message and `script` as a local
    render would, in its traceback by their full paths."""
    copy = os.path.join(str(folder), "")

    def shown(text):
        return text.replace(copy, job.shown_root) if isinstance(text, str) else text

    error.args = tuple(shown(arg) for arg in error.args)
    error.message, error.script = shown(error.message), shown(error.script)
    if error.traceback is not None:
        error.traceback = error.traceback.replace(copy, job.root)


def _render_task(job, frame, region, threads):
    """One task: a frame, or a region of one, as a plain numpy array."""
    import numpy

    scene, folder = _scene(job)
    try:
        image = tessera.render(scene, threads=threads, frame=frame, region=region, progress=False)
    except tessera.NodeError as error:
        _name_the_users_files(error, folder, job)
        raise
    return numpy.asarray(image)


def _job_task(job):
    """The job as a task's result, which the tasks rendering it wait on.
    Lost with the worker holding it, Dask computes it again; data given with
    client.scatter it cannot, and would cancel every task waiting on it."""
    return job


def local_client(workers=None, log_level=logging.WARNING):
    """A Client of a new LocalCluster on this machine: `workers` worker
    processes (default: one per core), one thread each; Dask logs messages
    of `log_level` and above, here and in the workers (Dask's default:
    warnings, such as a worker lost and restarted). The workers ignore
    Ctrl-C: this process answers it, closing the cluster."""
    distributed = _distributed()
    workers = workers or os.cpu_count() or 1
    with warnings.catch_warnings():
        if isinstance(log_level, int) and log_level > logging.WARNING:
            # Its dashboard on another port than 8787, which is taken.
            warnings.filterwarnings("ignore", "Port .* is already in use", UserWarning)
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           silence_logs=log_level, preload=["tessera._dask_preload"])
    return distributed.Client(cluster)


class _Session:
    """The caller's client, or a LocalCluster of our own (of `workers`
    worker processes, logging at `log_level`) for the job, closed after
    it."""

    def __init__(self, client, workers=None, log_level=logging.WARNING):
        self.own = client is None
        self.client = local_client(workers, log_level) if self.own else client

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        if self.own:
            _close_local_client(self.client)


# A LocalCluster closes in well under a second; longer, it is stuck.
_CLOSE_SECONDS = 10


def _close_local_client(client):
    """Closes `client` and the LocalCluster of this process it belongs to,
    in at most _CLOSE_SECONDS. A node that killed its worker leaves a nanny
    starting a new one; distributed 2024.8 (the last for Python 3.9) then
    waits for that worker to reach a scheduler that is closing, a minute or
    more, and once more (10 s) at exit; and the new worker, closed as it
    starts, may log at any level and fail with a traceback on stderr. So
    the workers being started are waited for first. Past the bound, its
    nannies' worker processes are killed and the cluster is counted
    closed."""
    distributed = _distributed()
    cluster = client.cluster
    with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
        client.wait_for_workers(len(cluster.workers), timeout=_CLOSE_SECONDS)
    client.close()
    try:
        cluster.close(timeout=_CLOSE_SECONDS)
    except (TimeoutError, asyncio.TimeoutError):
        for nanny in list(cluster.workers.values()):
            if nanny.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(nanny.pid, signal.SIGKILL)
        cluster.status = distributed.core.Status.closed


def _as_scene(scene):
    return scene if isinstance(scene, tessera.Scene) else tessera.Scene.load(scene)


def _results(submit, keys, progress, describe):
    """Each task's result as it completes, as (key, array), the tasks made
    by `submit(key)`; a failure does not stop the others (each frame that
    renders is written); then FarmError naming the first that failed (the
    lowest frame, then region, whichever ended first)."""
    distributed = _distributed()
    tasks = {submit(key): key for key in keys}
    failures = {}
    done = 0
    for future in distributed.as_completed(list(tasks)):
        key = tasks[future]
        try:
            image = future.result()
        except Exception as error:  # a node's error, or a worker lost
            failures[key] = error
            continue
        done += 1
        if progress is not None:
            progress(done, len(tasks))
        yield key, image
    killed = sorted(key for key, error in failures.items() if isinstance(error, distributed.KilledWorker))
    if len(killed) > 1:
        # A worker that dies takes the tasks waiting on it along, as often as
        # it is given them with the one that kills it: each, run alone, tells.
        for key in killed:
            try:
                image = submit(key).result()
            except Exception as error:
                failures[key] = error
                continue
            del failures[key]
            done += 1
            if progress is not None:
                progress(done, len(tasks))
            yield key, image
    if failures:
        # The first frame (and region) that failed, whichever ended first.
        key = min(failures, key=lambda key: (key[0], key[1] or ()))
        error = failures[key]
        if isinstance(error, distributed.KilledWorker):
            reason = (f"KilledWorker: the worker process rendering it died, on each of the "
                      f"{error.allowed_failures + 1} workers that tried (a node ending or crashing its process, "
                      "or running out of memory, does this)")
        else:
            reason = f"{type(error).__name__}: {error}"
        raise FarmError(f"{describe(key)} failed: {reason}", reason=reason, **_where(key)) from error


def _where(key):
    frame, region = key
    return {"frame": frame, "region": region}


def _output_paths(frames, output):
    """Each frame's file: `output` (a str, bytes or a path) with `{frame}` filled
    in. ValueError for a frame given twice, a template with other fields,
    or one giving frames the same file; tessera.OutputError for a file
    Tessera cannot write (a format it does not write, a folder that does
    not exist), as the tessera command refuses it."""
    output = os.fsdecode(output)
    seen = set()
    for frame in frames:
        if frame in seen:
            raise ValueError(f"frame {frame} is given twice")
        seen.add(frame)
    try:
        paths = {frame: output.format(frame=frame) for frame in frames}
    except KeyError as error:
        raise ValueError(f"the output {output!r}: {{{error.args[0]}}} is not a field it can have; "
                         "only {frame} (or {frame:04}) is") from None
    except IndexError:
        raise ValueError(f"the output {output!r}: {{}} is not a field it can have; only {{frame}} (or {{frame:04}}) is"
                         ) from None
    except (ValueError, AttributeError, TypeError) as error:  # a bad format: "{frame:q}", "{frame.x}"
        raise ValueError(f"the output {output!r}: {error}") from None
    if len(set(paths.values())) != len(paths):
        raise ValueError("the output needs {frame} or {frame:04} in its name: frames would overwrite each other")
    for path in sorted(set(paths.values())):
        tessera._native._check_output(path)
    return paths


def _refuse_overwriting(scene, paths):
    """ValueError when one of `paths` is a file `scene` reads (a texture,
    a script), as the tessera command refuses it."""
    read = {os.path.realpath(f) for f in scene.files()}
    for path in paths:
        if os.path.realpath(path) in read:
            raise ValueError(f"the output {path} is a file the scene reads; it would be overwritten. "
                             "Choose another output")


def _region_size(region_size):
    """`render_image`'s region_size as (width, height), each at least 1
    (an edge: any integer, numpy's too); else ValueError."""
    def edge(value):
        try:
            value = operator.index(value)
        except TypeError:
            return None
        return value if value >= 1 else None

    single = edge(region_size)
    if single is not None:
        return single, single
    try:
        width, height = region_size
    except (TypeError, ValueError):
        width = height = None
    size = (edge(width), edge(height))
    if None in size:
        raise ValueError(f"region_size must be a number of pixels from 1, or a (width, height) pair of them, "
                         f"not {region_size!r}")
    return size


def render_frames(scene, frames, output, client=None, threads=1, retries=1, progress=None):
    """Renders `frames` of `scene` (a Scene or a scene file) on the cluster
    and writes each to `output` (`{frame}` or `{frame:04}` in it becomes the
    frame number), as `tessera render --frames` would. Returns the paths
    written. `threads`: render threads per task; `retries`: how often Dask
    runs a task that raised again before FarmError (a task whose worker
    died goes to another, up to Dask's allowed-failures). The output is
    checked first: ValueError for a template with fields other than
    `{frame}`, tessera.OutputError for a file Tessera cannot write (a
    format it does not write, a folder that does not exist: as the command,
    it makes no folders)."""
    scene = _as_scene(scene)
    frames = list(frames)
    paths = _output_paths(frames, output)
    _refuse_overwriting(scene, paths.values())
    with _Session(client) as client:
        job = client.submit(_job_task, _Job(scene), pure=False)
        def submit(key):
            return client.submit(_render_task, job, key[0], None, threads, retries=retries, pure=False)

        keys = [(frame, None) for frame in frames]
        for (frame, _), image in _results(submit, keys, progress, lambda key: f"frame {key[0]}"):
            tessera.write(image, paths[frame], colorspace=scene.colorspace)
    return [paths[frame] for frame in frames]


def render_image(scene, region_size=256, frame=0, output=None, client=None, threads=1, retries=1, progress=None):
    """Renders one frame of `scene` on the cluster, split into regions of
    `region_size` pixels (an edge, or (width, height)), stitched here into
    one tessera.Image: the pixels of a one-machine render. Written to
    `output` too when given, which is checked first as render_frames
    checks its files."""
    import numpy

    scene = _as_scene(scene)
    width, height = scene.size
    region_width, region_height = _region_size(region_size)
    if output is not None:
        output = os.fsdecode(output)
        _refuse_overwriting(scene, [output])
        tessera._native._check_output(output)
    regions = [
        (x, y, min(region_width, width - x), min(region_height, height - y))
        for y in range(0, height, region_height)
        for x in range(0, width, region_width)
    ]
    image = numpy.empty((height, width, 4), dtype=numpy.float32)
    with _Session(client) as client:
        job = client.submit(_job_task, _Job(scene), pure=False)
        def submit(key):
            return client.submit(_render_task, job, *key, threads, retries=retries, pure=False)

        keys = [(frame, region) for region in regions]
        describe = lambda key: f"frame {key[0]}, region {key[1]}"  # noqa: E731
        for (_, (x, y, w, h)), part in _results(submit, keys, progress, describe):
            image[y:y + h, x:x + w] = part
    image = image.view(tessera.Image)
    if output is not None:
        tessera.write(image, output, colorspace=scene.colorspace)
    return image
