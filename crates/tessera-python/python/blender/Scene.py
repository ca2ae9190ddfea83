"""Blender.Scene of Blender 2.4x, the little texture scripts use
(docs/blender-pynodes.md): the current scene, its rendering context (frame
numbers, frames per second and image size from the render), an identity
camera and no other object.

Values are read when asked for: during a render, those of the render; before
it (at a script's top level or in `__init__`), Blender's defaults (frame 1,
25 fps, 100x100... see `_DEFAULTS`).
"""

from Blender import Mathutils as _Mathutils

__all__ = ["Get", "GetCurrent"]

# Tessera sets `_context` to a function returning the sample's ctx, or None.
_context = None

# Before a render: Blender 2.49's defaults for a new scene.
_DEFAULTS = {"frame": 1, "fps": 25.0, "width": 100, "height": 100}


def _fact(name):
    ctx = _context() if _context is not None else None
    return _DEFAULTS[name] if ctx is None else getattr(ctx, name)


class RenderData:
    """Scene.getRenderingContext(): the render's frame and size."""

    def currentFrame(self, frame=None):
        if frame is not None:
            raise AttributeError("Tessera renders the frame given by --frame; a script cannot change it")
        return int(_fact("frame"))

    def startFrame(self, frame=None):
        return 1

    def endFrame(self, frame=None):
        return max(250, self.currentFrame())

    def framesPerSec(self):
        return int(round(_fact("fps")))

    def imageSizeX(self):
        return int(_fact("width"))

    def imageSizeY(self):
        return int(_fact("height"))

    cFrame = property(lambda self: self.currentFrame())
    sFrame = property(lambda self: self.startFrame())
    eFrame = property(lambda self: self.endFrame())
    fps = property(lambda self: self.framesPerSec())
    sizeX = property(lambda self: self.imageSizeX())
    sizeY = property(lambda self: self.imageSizeY())


class Object:
    """The scene's camera: at the origin, unrotated (an identity matrix)."""

    name = "Camera"
    type = "Camera"

    def getName(self):
        return self.name

    def getType(self):
        return self.type

    def getMatrix(self, space="worldspace"):
        return _Mathutils.Matrix()

    def getLocation(self, space="worldspace"):
        return [0.0, 0.0, 0.0]

    def getEuler(self, space="worldspace"):
        return [0.0, 0.0, 0.0]

    matrix = property(lambda self: self.getMatrix())
    matrixWorld = property(lambda self: self.getMatrix())
    loc = property(lambda self: (0.0, 0.0, 0.0))
    LocX = LocY = LocZ = 0.0


class _Objects(list):
    """scene.objects: empty, but for the camera."""

    def __init__(self, camera):
        super().__init__()
        self.camera = camera
        self.active = None


class Scene:
    """The one scene Tessera renders."""

    name = "Scene"

    def __init__(self):
        self._camera = Object()
        self.objects = _Objects(self._camera)
        self.render = RenderData()

    def getName(self):
        return self.name

    def getRenderingContext(self):
        return self.render

    def getCurrentCamera(self):
        return self._camera

    def getChildren(self):
        return []


_scene = Scene()


def GetCurrent():
    return _scene


def Get(name=None):
    if name is None:
        return [_scene]
    if name != _scene.name:
        raise NameError(f"Scene.Get: no scene named {name!r} (Tessera has one, {_scene.name!r})")
    return _scene
