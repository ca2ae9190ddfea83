"""A colour grade with parameters: lift, gamma, gain and saturation."""
import tessera


class Grade(tessera.Node):
    """Lift, gamma, gain and saturation, as a colourist's grade."""

    inputs = {
        "color": tessera.Color((0.5, 0.5, 0.5)),
        "lift": tessera.Float(0.0, min=-1.0, max=1.0, doc="added to the shadows"),
        "gamma": tessera.Float(1.0, min=0.01, max=10.0, doc="midtone power (above 1 brightens)"),
        "gain": tessera.Float(1.0, min=0.0, max=10.0, doc="multiplies the highlights"),
        "saturation": tessera.Float(1.0, min=0.0, max=4.0, doc="0 is grey, 1 unchanged"),
    }
    outputs = {"color": tessera.Color()}
    pure = True

    def __call__(self, ctx, color, lift, gamma, gain, saturation):
        r, g, b, a = color
        graded = []
        for c in (r, g, b):
            c = c * gain + lift * (1.0 - c)
            c = max(c, 0.0) ** (1.0 / gamma)
            graded.append(c)
        luma = 0.2126 * graded[0] + 0.7152 * graded[1] + 0.0722 * graded[2]
        return tuple(luma + (c - luma) * saturation for c in graded) + (a,)
