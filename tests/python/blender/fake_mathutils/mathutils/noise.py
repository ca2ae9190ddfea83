"""A stand-in for Blender's mathutils.noise: each function returns its name
and arguments, so that delegation.py can check how Blender.Noise calls it."""


def _recorder(name, result=None):
    def record(*args, **kwargs):
        call = (name, args, kwargs)
        return result(call) if result else call

    return record


for _name in ("noise", "turbulence", "fractal", "multi_fractal", "hetero_terrain", "hybrid_multi_fractal",
              "ridged_multi_fractal", "variable_lacunarity", "cell"):
    globals()[_name] = _recorder(_name)
# Those Blender.Noise turns into lists: a sequence of the call.
for _name in ("noise_vector", "turbulence_vector", "cell_vector"):
    globals()[_name] = _recorder(_name, lambda call: [call])
voronoi = _recorder("voronoi", lambda call: ([call], [[call]]))
