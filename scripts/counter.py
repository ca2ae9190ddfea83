"""A node that keeps state on self: it numbers its calls.

Its output depends on the order in which samples are computed, and so on
the thread count: it shows what determinism policies are for.
"""
import tessera


class CallCounter(tessera.Node):
    """The running count of calls, as a fraction of `period`."""

    inputs = {"period": tessera.Float(4096.0, min=1.0, doc="calls per cycle of the output")}
    outputs = {"out": tessera.Float(), "count": tessera.Float()}

    def setup(self):
        self.calls = 0

    def __call__(self, ctx, period):
        self.calls += 1
        return (self.calls % period) / period, float(self.calls)
