"""Blender.Window of Blender 2.4x, as far as texture scripts call it
(docs/blender-pynodes.md): there is no window in Tessera, so redraws and
progress bars do nothing, and the screen is the image.
"""

from Blender import Scene as _Scene

__all__ = ["Redraw", "RedrawAll", "QRedrawAll", "DrawProgressBar", "GetScreenSize", "WaitCursor"]


def Redraw(*args):
    pass


def RedrawAll(*args):
    pass


def QRedrawAll(*args):
    pass


def DrawProgressBar(done, text=""):
    pass


def WaitCursor(on=True):
    pass


def GetScreenSize():
    render = _Scene.GetCurrent().getRenderingContext()
    return (render.imageSizeX(), render.imageSizeY())
