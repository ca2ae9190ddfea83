"""Node kinds for the determinism matrix test (tests/determinism.rs): each
keeps state (or not) in a different way. Every node outputs a float.

Every call does some work first (WORK), so that a render lasts long enough
(tens of milliseconds) for every render thread to start and take turns at
the GIL: a difference that can occur is then seen, not missed by luck."""
import random

import tessera

# State in a module global, shared by every instance and every tile.
CALLS_SO_FAR = [0]

# Loop iterations of work per call (about 5 microseconds).
WORK = 100


def busy(n):
    """Work that holds the GIL long enough for the switch interval to fire."""
    total = 0
    for i in range(n):
        total += i * i
    return total


class Pure(tessera.Node):
    """Depends only on its arguments."""

    inputs = {"uv": tessera.Vector2(tessera.TEXCOORD)}
    outputs = {"out": tessera.Float()}
    pure = True

    def __call__(self, ctx, uv):
        busy(WORK)
        return (uv[0] * 7.0 + uv[1] * 3.0) % 1.0


class Counter(tessera.Node):
    """Counts its calls on self."""

    outputs = {"out": tessera.Float()}

    def setup(self):
        self.calls = 0

    def __call__(self, ctx):
        busy(WORK)
        self.calls += 1
        return (self.calls % 97) / 97.0


class ReadModifyWrite(tessera.Node):
    """Reads self.count, works, then writes it back: a torn update loses counts."""

    outputs = {"out": tessera.Float(), "count": tessera.Float()}

    def setup(self):
        self.count = 0

    def __call__(self, ctx):
        seen = self.count
        busy(200)
        self.count = seen + 1
        return (self.count % 97) / 97.0, float(self.count)


class GlobalRandom(tessera.Node):
    """Draws from Python's global random generator (seeded by Tessera)."""

    outputs = {"out": tessera.Float()}

    def __call__(self, ctx):
        busy(WORK)
        return random.random()


class CtxRandom(tessera.Node):
    """Draws from ctx.random(): a hash of seed, node, pixel, sample and draw."""

    outputs = {"out": tessera.Float()}

    def __call__(self, ctx):
        busy(WORK)
        return ctx.random() * 0.5 + ctx.random() * 0.5


class ModuleGlobal(tessera.Node):
    """Counts its calls in a module global."""

    outputs = {"out": tessera.Float()}

    def __call__(self, ctx):
        busy(WORK)
        CALLS_SO_FAR[0] += 1
        return (CALLS_SO_FAR[0] % 89) / 89.0


# The tile of the last call, and how many runs of calls of one tile there
# have been: for TileRuns.
LAST_TILE = [None]
TILE_RUNS = [0]


class TileRuns(tessera.Node):
    """Declared pure, but counts runs of consecutive calls of one tile in a
    module global: a tile's calls interleaved with another tile's make more
    runs than tiles. Not one of the matrix's kinds: it observes scheduling."""

    outputs = {"out": tessera.Float()}
    pure = True

    def __call__(self, ctx):
        busy(WORK)
        if LAST_TILE[0] != ctx.tile:
            LAST_TILE[0] = ctx.tile
            TILE_RUNS[0] += 1
        return float(TILE_RUNS[0])
