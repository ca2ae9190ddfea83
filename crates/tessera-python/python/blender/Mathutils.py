"""Blender.Mathutils of Blender 2.4x, for PyNode scripts (docs/blender-pynodes.md).

The 2.4x semantics, which differ from today's `mathutils`: `normalize()`,
`negate()` and `resize*()` change the vector and return it, `Vector * Vector`
is the dot product, `AngleBetweenVecs` is in degrees, `Matrix * Vector`
multiplies a column and `Vector * Matrix` a row. Arithmetic is Python's
double precision (Blender stored single-precision floats).
"""

import math as _math

__all__ = [
    "Vector", "Matrix", "AngleBetweenVecs", "DotVecs", "CrossVecs", "MidpointVecs", "ProjectVecs",
    "RotationMatrix", "VecMultMat", "MatMultVec",
]

_AXES = "xyzw"


def _numbers(values, what):
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"Mathutils.{what}: expected a sequence of numbers") from None


class Vector:
    """A vector of 2 to 4 floats: Vector(x, y, z), Vector([x, y, z]); Vector() is (0, 0, 0)."""

    __slots__ = ("_v",)

    def __init__(self, *args):
        if len(args) == 1 and not isinstance(args[0], (int, float)):
            values = _numbers(args[0], "Vector()")
        elif args:
            values = _numbers(args, "Vector()")
        else:
            values = [0.0, 0.0, 0.0]
        if not 2 <= len(values) <= 4:
            raise AttributeError("Mathutils.Vector(): 2-4 floats or ints expected (optionally in a sequence)")
        object.__setattr__(self, "_v", values)

    # Sequence
    def __len__(self):
        return len(self._v)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._v[index]
        try:
            return self._v[index]
        except IndexError:
            raise IndexError("vector[index]: array index out of range") from None

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            values = _numbers(value, "vector[a:b]")
            if len(values) != len(range(*index.indices(len(self._v)))):
                raise AttributeError("vector[begin:end] = []: size mismatch in slice assignment")
            self._v[index] = values
            return
        try:
            self._v[index] = float(value)
        except IndexError:
            raise IndexError("vector[index] = x: assignment index out of range") from None

    def __iter__(self):
        return iter(list(self._v))

    # Attributes and swizzles (v.x, v.xy, v.zyx ...)
    def __getattr__(self, name):
        if name in ("length", "magnitude"):
            return _math.sqrt(sum(c * c for c in self._v))
        if name and len(name) <= 4 and all(c in _AXES[: len(self._v)] for c in name):
            values = [self._v[_AXES.index(c)] for c in name]
            return values[0] if len(values) == 1 else Vector(values)
        raise AttributeError(f"'Vector' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        if name in ("length", "magnitude"):
            length = self.length
            scale = float(value) / length if length else 0.0
            self._v[:] = [c * scale for c in self._v]
            return
        if name and all(c in _AXES[: len(self._v)] for c in name):
            values = [float(value)] if len(name) == 1 else _numbers(value, f"vector.{name}")
            if len(values) != len(name):
                raise AttributeError(f"vector.{name} = ...: {len(name)} values expected")
            for c, v in zip(name, values):
                self._v[_AXES.index(c)] = v
            return
        raise AttributeError(f"'Vector' object has no attribute '{name}'")

    # In-place operations returning self, as in 2.4x.
    def normalize(self):
        length = self.length
        if length:
            self._v[:] = [c / length for c in self._v]
        return self

    def negate(self):
        self._v[:] = [-c for c in self._v]
        return self

    def zero(self):
        self._v[:] = [0.0] * len(self._v)
        return self

    def resize2D(self):
        del self._v[2:]
        return self

    def resize3D(self):
        self._v[:] = (self._v + [0.0])[:3] if len(self._v) < 3 else self._v[:3]
        return self

    def resize4D(self):
        if len(self._v) == 2:
            self._v.extend([0.0, 1.0])
        elif len(self._v) == 3:
            self._v.append(1.0)
        return self

    def copy(self):
        return Vector(self._v)

    def dot(self, other):
        return sum(a * b for a, b in zip(self._v, _vector(other, "dot")._v))

    def cross(self, other):
        return CrossVecs(self, other)

    def reflect(self, mirror):
        """This vector mirrored about the plane whose normal is `mirror`."""
        normal = _vector(mirror, "reflect").copy().normalize()
        d = 2.0 * self.dot(normal)
        return Vector([a - d * n for a, n in zip(self._v, normal._v)])

    def toTuple(self, precision=-1):
        return tuple(self._v if precision < 0 else [round(c, precision) for c in self._v])

    # Arithmetic
    def _same_size(self, other, op):
        other = _vector(other, op)
        if len(other) != len(self):
            raise AttributeError(f"Vector {op} Vector: vectors must have the same dimensions for this operation")
        return other

    def __add__(self, other):
        other = self._same_size(other, "+")
        return Vector([a + b for a, b in zip(self._v, other._v)])

    __radd__ = __add__

    def __sub__(self, other):
        other = self._same_size(other, "-")
        return Vector([a - b for a, b in zip(self._v, other._v)])

    def __rsub__(self, other):
        return self._same_size(other, "-") - self

    def __mul__(self, other):
        if isinstance(other, Vector):
            return self._same_size(other, "*").dot(self)
        if isinstance(other, Matrix):
            return other._row_product(self)
        if isinstance(other, (int, float)):
            return Vector([a * other for a in self._v])
        return NotImplemented

    def __rmul__(self, other):
        if isinstance(other, (int, float)):
            return Vector([a * other for a in self._v])
        return NotImplemented

    def __truediv__(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        if other == 0:
            raise ZeroDivisionError("Vector division: divide by zero error")
        return Vector([a / other for a in self._v])

    def __neg__(self):
        return Vector([-a for a in self._v])

    def __pos__(self):
        return self.copy()

    def __eq__(self, other):
        try:
            return len(other) == len(self) and all(abs(a - float(b)) < 1e-6 for a, b in zip(self._v, other))
        except TypeError:
            return NotImplemented

    __hash__ = None

    def __repr__(self):
        return "[" + ", ".join(f"{c:.6f}" for c in self._v) + "](vector)"


def _vector(value, op):
    if isinstance(value, Vector):
        return value
    try:
        return Vector(value)
    except (TypeError, AttributeError):
        raise TypeError(f"Mathutils: {op} expects a Vector (or a sequence of 2-4 numbers)") from None


class Matrix:
    """Rows of Vectors: Matrix([a, b, c], [d, e, f], ...); Matrix() is the 4x4 identity."""

    def __init__(self, *rows):
        if not rows:
            rows = ([1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0])
        self._rows = [Vector(row) for row in rows]
        if not 2 <= len(self._rows) <= 4 or len({len(r) for r in self._rows}) != 1:
            raise AttributeError("Mathutils.Matrix(): 2-4 rows of 2-4 floats, all the same size, expected")

    @property
    def rowSize(self):
        return len(self._rows)

    @property
    def colSize(self):
        return len(self._rows[0])

    def __len__(self):
        return len(self._rows)

    def __getitem__(self, index):
        return self._rows[index]

    def __setitem__(self, index, row):
        row = _vector(row, "matrix[i] = row")
        if len(row) != self.colSize:
            raise AttributeError("matrix[i] = row: the row has the wrong size")
        self._rows[index] = row

    def __iter__(self):
        return iter(self._rows)

    def copy(self):
        return Matrix(*[row._v for row in self._rows])

    def identity(self):
        for i, row in enumerate(self._rows):
            row[:] = [1.0 if i == j else 0.0 for j in range(len(row))]
        return self

    def zero(self):
        for row in self._rows:
            row.zero()
        return self

    def transpose(self):
        if self.rowSize != self.colSize:
            raise AttributeError("Matrix.transpose(): only square matrices are supported")
        columns = [[row[j] for row in self._rows] for j in range(self.colSize)]
        for row, column in zip(self._rows, columns):
            row[:] = column
        return self

    def determinant(self):
        if self.rowSize != self.colSize:
            raise AttributeError("Matrix.determinant(): only square matrices are supported")
        return _determinant([list(row) for row in self._rows])

    def invert(self):
        """Inverts in place (Gauss-Jordan); a singular matrix is a ValueError."""
        n = self.rowSize
        if n != self.colSize:
            raise AttributeError("Matrix.invert(): only square matrices are supported")
        a = [list(row) + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(self._rows)]
        for column in range(n):
            pivot = max(range(column, n), key=lambda r: abs(a[r][column]))
            if abs(a[pivot][column]) < 1e-12:
                raise ValueError("Matrix.invert(): the matrix is singular")
            a[column], a[pivot] = a[pivot], a[column]
            scale = a[column][column]
            a[column] = [v / scale for v in a[column]]
            for r in range(n):
                if r != column and a[r][column]:
                    factor = a[r][column]
                    a[r] = [v - factor * p for v, p in zip(a[r], a[column])]
        for row, solved in zip(self._rows, a):
            row[:] = solved[n:]
        return self

    def rotationPart(self):
        """The upper-left 3x3 matrix."""
        if self.rowSize < 3 or self.colSize < 3:
            raise AttributeError("Matrix.rotationPart(): the matrix must be at least 3x3")
        return Matrix(*[list(row)[:3] for row in self._rows[:3]])

    def translationPart(self):
        """The fourth row's first three values, of a 4x4 matrix."""
        if self.rowSize != 4 or self.colSize != 4:
            raise AttributeError("Matrix.translationPart(): only 4x4 matrices are supported")
        return Vector(list(self._rows[3])[:3])

    def resize4x4(self):
        """Grows the matrix to 4x4 in place (identity in the new cells) and returns it."""
        size = (self.rowSize, self.colSize)
        rows = [list(row) + [0.0] * (4 - size[1]) for row in self._rows]
        rows += [[1.0 if i == j else 0.0 for j in range(4)] for i in range(size[0], 4)]
        self._rows = [Vector(row) for row in rows]
        return self

    def _row_product(self, vector):
        """vector * matrix: the vector as a row; a 3D vector times a 4x4
        matrix is taken as (x, y, z, 1) and gives a 3D vector, as in 2.4x."""
        if len(vector) == 3 and self.rowSize == 4:
            return Vector(self._row_product(Vector(list(vector) + [1.0]))[:3])
        if len(vector) != self.rowSize:
            raise AttributeError("Vector * Matrix: the vector size must match the matrix's row count")
        return Vector([sum(vector[i] * self._rows[i][j] for i in range(self.rowSize)) for j in range(self.colSize)])

    def __mul__(self, other):
        if isinstance(other, (int, float)):
            return Matrix(*[[v * other for v in row] for row in self._rows])
        if isinstance(other, Matrix):
            if self.colSize != other.rowSize:
                raise AttributeError("Matrix * Matrix: the sizes do not match")
            return Matrix(*[
                [sum(row[k] * other._rows[k][j] for k in range(other.rowSize)) for j in range(other.colSize)]
                for row in self._rows
            ])
        vector = _vector(other, "Matrix * Vector")
        if len(vector) != self.colSize:
            raise AttributeError("Matrix * Vector: the vector size must match the matrix's column count")
        return Vector([row.dot(vector) for row in self._rows])

    def __rmul__(self, other):
        if isinstance(other, (int, float)):
            return self * other
        return NotImplemented

    def __add__(self, other):
        return Matrix(*[[a + b for a, b in zip(r, s)] for r, s in zip(self._rows, other._rows)])

    def __sub__(self, other):
        return Matrix(*[[a - b for a, b in zip(r, s)] for r, s in zip(self._rows, other._rows)])

    def __eq__(self, other):
        return isinstance(other, Matrix) and self._rows == other._rows

    __hash__ = None

    def __repr__(self):
        return "[" + ",\n ".join(repr(list(row._v)) for row in self._rows) + "](matrix)"


def _determinant(rows):
    if len(rows) == 2:
        return rows[0][0] * rows[1][1] - rows[0][1] * rows[1][0]
    return sum(
        (-1) ** j * rows[0][j] * _determinant([row[:j] + row[j + 1:] for row in rows[1:]]) for j in range(len(rows))
    )


def DotVecs(a, b):
    return _vector(a, "DotVecs").dot(b)


def CrossVecs(a, b):
    a, b = _vector(a, "CrossVecs"), _vector(b, "CrossVecs")
    if len(a) != 3 or len(b) != 3:
        raise AttributeError("CrossVecs(): expects 3D vectors")
    return Vector(a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def MidpointVecs(a, b):
    a, b = _vector(a, "MidpointVecs"), _vector(b, "MidpointVecs")
    return Vector([(x + y) / 2.0 for x, y in zip(a, b)])


def ProjectVecs(a, b):
    """The projection of a onto b."""
    a, b = _vector(a, "ProjectVecs"), _vector(b, "ProjectVecs")
    bb = b.dot(b)
    return Vector([0.0] * len(a)) if bb == 0 else b * (a.dot(b) / bb)


def AngleBetweenVecs(a, b):
    """The angle between two vectors, in degrees (2.4x)."""
    a, b = _vector(a, "AngleBetweenVecs"), _vector(b, "AngleBetweenVecs")
    lengths = a.length * b.length
    if lengths == 0:
        raise AttributeError("AngleBetweenVecs(): zero length vectors are not acceptable arguments")
    return _math.degrees(_math.acos(max(-1.0, min(1.0, a.dot(b) / lengths))))


def VecMultMat(vector, matrix):
    return vector * matrix


def MatMultVec(matrix, vector):
    return matrix * vector


def RotationMatrix(angle, size, axis=None, vector=None):
    """A size x size (2, 3 or 4) rotation by `angle` degrees about "x", "y", "z"
    or "r" (the arbitrary axis `vector`); 2x2 needs no axis."""
    theta = _math.radians(float(angle))
    c, s = _math.cos(theta), _math.sin(theta)
    if size == 2:
        rows = [[c, s], [-s, c]]
    elif size in (3, 4):
        axis = (axis or "").lower()
        if axis == "x":
            rows = [[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]]
        elif axis == "y":
            rows = [[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]]
        elif axis == "z":
            rows = [[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]
        elif axis == "r":
            x, y, z = _vector(vector, "RotationMatrix").copy().normalize()
            t = 1.0 - c
            rows = [
                [t * x * x + c, t * x * y + s * z, t * x * z - s * y],
                [t * x * y - s * z, t * y * y + c, t * y * z + s * x],
                [t * x * z + s * y, t * y * z - s * x, t * z * z + c],
            ]
        else:
            raise AttributeError("RotationMatrix(): the axis must be 'x', 'y', 'z' or 'r' (with a vector)")
        if size == 4:
            rows = [row + [0.0] for row in rows] + [[0.0, 0.0, 0.0, 1.0]]
    else:
        raise AttributeError("RotationMatrix(): the size must be 2, 3 or 4")
    return Matrix(*rows)
