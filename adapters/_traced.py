"""The core's formulas inside traced code: the array namespace over keras.ops or jax.numpy.

Every family's formula is written once, as ``_values(t, xp)`` against the small namespace of
``lrsched._ops``. ``TracedOps`` implements that namespace over a traced array library, so
``schedule._values(t, TracedOps(...))`` builds the schedule's own formula into a compiled
graph: there is no second copy of any formula here, only the vocabulary.

Arrays are wrapped (``Array``) so that the formulas' numpy habits hold on every backend:
Python numbers become float64 tensors before an operation (so nothing silently drops to
float32), a comparison's booleans count as 0/1 in arithmetic (``cycle - (t < start)``),
and ``.astype`` exists. The pieces of ``piecewise`` are each evaluated on all steps, with
the steps first clamped into the piece's own interval (so no piece runs outside the domain
its formula was written for), and selected by ``where``; only the value of a step's own
piece reaches the result.

A user's function (``lambda_lr``'s ``fn``, ``cyclic``'s ``scale_fn``) is refused by
``user`` unless the namespace is made with ``user_functions=True``: it is then called on
the raw step tensor itself (a float64 tensor of the backend, so ``keras.ops`` or
``jax.numpy`` work in it). Where that fails, tensorflow calls it on each step alone with
AutoGraph (``Library.elementwise``), which turns a Python ``if`` on the step into the
graph's own branch; numpy, ``math`` or ``min()`` on the step fail either way, raising
``UntracedFunction`` with the reason. Its factors are checked (finite, >= 0)
only where their values are known, on eager tensors: inside a trace nothing can check
them, so an adapter uses a traced user function only after comparing it with the core
(``first_disagreement``) at steps of its choosing; ``KerasSchedule`` does this under XLA.

``multiplicative``'s running product needs every factor before its step, so the namespace
keeps one in the compiled step (``running_products``, ``KeptProduct``): variables (on
tensorflow; jax's compiled steps are pure functions, and there the adapters ask the host)
hold the latest step asked and its product, the next step multiplies in one factor, and any
other step computes its product from the nearest one kept, in chunks. Each factor's float64
rounding carries into the product: about 1e-16 of it a factor.

Precision: the namespace computes in float64 (``dtype``) where the backend allows it
(tensorflow, jax with ``jax_enable_x64``). The operations are the same as numpy's, in the
same order, so each value is within a few float64 ulps of the core's; rounded to float32
it is ``np.float32(s(t))`` except where ``s(t)`` lies within that distance of a float32
rounding boundary, and then one float32 ulp away. Near 0, where ulps are tiny, the bound
is absolute instead: within 2**-48 of the schedule's scale (``scale``): its largest value,
and for a product at least the product of its factors' largest values, since each factor's
rounding error is relative to its own size (1e-10 times a polynomial from 0 to 1 that jax
computes as 5.6e-17 instead of 0 at step 0 is 5.6e-17 from the core, next to a product
whose largest value is 3e-11). XLA may compile a division by a constant as a
multiplication by its reciprocal, which moves a float64 result by an ulp (one_cycle's
momentum can end at 4e-17 instead of 0), and tensorflow's XLA flushes float32 subnormals
(below 1.2e-38) to 0. ``tests/test_traced.py`` checks both for every family at steps
10^7..2^31. A traced user function's own operations are the user's: the bound holds for
it where its tensor operations round as numpy's do, which ``first_disagreement`` checks.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lrsched import validation as check

# The element-wise functions keras.ops and jax.numpy both provide under numpy's names.
_SAME_NAMED = (
    "where",
    "minimum",
    "maximum",
    "floor",
    "cos",
    "sin",
    "tanh",
    "abs",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "power",
    "take",
    "add",
    "subtract",
    "multiply",
    "divide",
    "negative",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_not",
)


class Library:
    """The primitives a traced backend provides; ``KerasLibrary`` and ``JaxLibrary``."""

    float_dtype = "float64"
    index_dtype = "int64"
    # The backend's own functions, each subclass binds in its __init__ or defines.
    where: Callable[..., Any]
    minimum: Callable[..., Any]
    maximum: Callable[..., Any]
    power: Callable[..., Any]
    take: Callable[..., Any]
    negative: Callable[..., Any]
    logical_and: Callable[..., Any]
    logical_or: Callable[..., Any]
    logical_not: Callable[..., Any]
    fmod: Callable[..., Any]
    full: Callable[..., Any]
    searchsorted: Callable[..., Any]

    def constant(self, value: Any) -> Any:
        raise NotImplementedError

    def call(self, fn: Callable, t: Any) -> Any:
        """fn on the whole step tensor ``t``, as the user wrote it."""
        return fn(t)

    def elementwise(self, fn: Callable, t: Any) -> Any:
        """fn at each step of ``t`` alone, where fn fails on the whole tensor (a Python
        ``if`` on the step); None where the library cannot."""
        return None

    def cast(self, x: Any, dtype: str) -> Any:
        raise NotImplementedError

    @staticmethod
    def concrete(x: Any) -> np.ndarray | None:
        """x's values if they are known now (an eager tensor, a jax array outside a
        trace), else None (a symbolic tensor inside a trace)."""
        try:
            return np.asarray(x)
        except Exception:  # tf's symbolic tensors and jax's tracers refuse to convert
            return None


class KerasLibrary(Library):
    """keras.ops, on whichever backend Keras runs."""

    def __init__(self):
        import keras

        self.keras, self.ops = keras, keras.ops
        self.backend = keras.backend.backend()
        for name in _SAME_NAMED:
            setattr(self, name, getattr(keras.ops, name))

    def constant(self, value):
        return self.ops.convert_to_tensor(
            np.asarray(value, dtype=np.float64), dtype=self.float_dtype
        )

    def cast(self, x, dtype):
        return self.ops.cast(x, dtype)

    def full(self, shape, value):
        return self.ops.full(shape, value, dtype=self.float_dtype)

    def searchsorted(self, edges, t, side):
        return self.ops.searchsorted(edges, t, side=side)

    def call(self, fn, t):
        if self.backend != "tensorflow":
            return fn(t)
        import tensorflow as tf

        # Inside a tf.function with AutoGraph (a user's own), fn would be converted too,
        # and its if on a tensor of several steps would become a branch on a vector, which
        # XLA refuses only when it compiles; unconverted, it fails here, and elementwise
        # below runs it a step at a time.
        return tf.autograph.experimental.do_not_convert(fn)(t)

    def elementwise(self, fn, t):
        if self.backend != "tensorflow":
            return None
        import tensorflow as tf

        # AutoGraph turns a Python if on a scalar step tensor into the graph's own branch
        # (tf.cond), which XLA compiles; math.*, min() or numpy on the step still fail.
        converted = tf.autograph.to_graph(fn)

        def one(step):
            return tf.cast(converted(step), tf.float64)

        return tf.map_fn(one, tf.cast(t, tf.float64), fn_output_signature=tf.float64)

    def variable(self, value: Any, dtype: str) -> Any:
        """A tensorflow variable a compiled step can read and assign, made outside any
        trace (jax's compiled steps are pure functions: they keep none)."""
        import tensorflow as tf

        # init_scope: made once, eagerly, even when asked while the train step is traced.
        # ON_READ: under a tf.distribute strategy each replica keeps its own copy (they
        # all see the same steps), so assigning one needs no cross-replica aggregation.
        with tf.init_scope():
            return tf.Variable(
                value,
                dtype=dtype,
                trainable=False,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )

    def fmod(self, t, divisor):
        # floormod is exact on tensorflow and jax; C's fmod keeps the dividend's sign.
        magnitude = self.ops.mod(self.ops.abs(t), self.ops.abs(divisor))
        return self.ops.where(t < 0, -magnitude, magnitude)


class JaxLibrary(Library):
    """jax.numpy (float64 needs ``jax_enable_x64``; float32 otherwise)."""

    def __init__(self, float_dtype: str = "float64"):
        import jax.numpy as jnp

        self.jnp = jnp
        self.float_dtype = float_dtype
        self.index_dtype = "int64" if float_dtype == "float64" else "int32"
        for name in (*_SAME_NAMED, "fmod"):
            setattr(self, name, getattr(jnp, name))

    def constant(self, value):
        return self.jnp.asarray(np.asarray(value, dtype=np.float64), dtype=self.float_dtype)

    def cast(self, x, dtype):
        return self.jnp.asarray(x).astype(dtype)

    def full(self, shape, value):
        return self.jnp.full(shape, value, dtype=self.float_dtype)

    def searchsorted(self, edges, t, side):
        return self.jnp.searchsorted(edges, t, side=side)


def keras_library() -> Library:
    """keras.ops on Keras's current backend (``KerasSchedule`` traces it under tensorflow;
    on the torch backend it computes on the host, and keras.ops there types minimum and
    maximum of two float64 tensors as float32, which would round steps past 2**24)."""
    return KerasLibrary()


class Array:
    """A traced tensor with numpy's operator semantics (see the module docstring)."""

    __slots__ = ("lib", "value")
    __array_priority__ = 1000  # numpy scalars on the left defer to these operators

    def __init__(self, value: Any, lib: Library):
        self.value, self.lib = value, lib

    @property
    def shape(self) -> tuple:
        return tuple(self.value.shape)

    def astype(self, dtype: Any) -> Array:
        kind = np.dtype(dtype).kind
        lib = self.lib
        target = lib.index_dtype if kind in "iu" else "bool" if kind == "b" else lib.float_dtype
        return Array(lib.cast(self.value, target), lib)

    def __getitem__(self, key: Any) -> Array:
        return Array(self.value[key], self.lib)

    # Arithmetic: both operands as float tensors.
    def _binary(self, other: Any, name: str, swap: bool = False) -> Array:
        lib = self.lib
        a, b = _float(self, lib), _float(other, lib)
        if swap:
            a, b = b, a
        return Array(getattr(lib, name)(a, b), lib)

    def __add__(self, other):
        return self._binary(other, "add")

    def __radd__(self, other):
        return self._binary(other, "add", True)

    def __sub__(self, other):
        return self._binary(other, "subtract")

    def __rsub__(self, other):
        return self._binary(other, "subtract", True)

    def __mul__(self, other):
        return self._binary(other, "multiply")

    def __rmul__(self, other):
        return self._binary(other, "multiply", True)

    def __truediv__(self, other):
        return self._binary(other, "divide")

    def __rtruediv__(self, other):
        return self._binary(other, "divide", True)

    def __pow__(self, other):
        return self._binary(other, "power")

    def __rpow__(self, other):
        return self._binary(other, "power", True)

    def __neg__(self):
        return Array(self.lib.negative(_float(self, self.lib)), self.lib)

    # Comparisons give boolean tensors; & | ~ combine them.
    def _compare(self, other: Any, name: str) -> Array:
        lib = self.lib
        return Array(getattr(lib, name)(_float(self, lib), _float(other, lib)), lib)

    def __lt__(self, other):
        return self._compare(other, "less")

    def __le__(self, other):
        return self._compare(other, "less_equal")

    def __gt__(self, other):
        return self._compare(other, "greater")

    def __ge__(self, other):
        return self._compare(other, "greater_equal")

    def __eq__(self, other):
        return self._compare(other, "equal")

    def __ne__(self, other):
        return self._compare(other, "not_equal")

    # == is elementwise, so an Array is unhashable, as a numpy array is; object's
    # __hash__ is typed as a method, hence the ignore.
    __hash__ = None  # type: ignore[assignment]

    def __and__(self, other):
        return Array(self.lib.logical_and(self.value, _raw(other, self.lib)), self.lib)

    def __or__(self, other):
        return Array(self.lib.logical_or(self.value, _raw(other, self.lib)), self.lib)

    def __invert__(self):
        return Array(self.lib.logical_not(self.value), self.lib)

    def __bool__(self):
        raise TypeError(
            "a traced learning-rate formula branched on a value (Python if on "
            "an array); formulas must use xp.where"
        )


def _raw(x: Any, lib: Library) -> Any:
    if isinstance(x, Array):
        return x.value
    if isinstance(x, (numbers.Real, np.ndarray, np.generic)) and not isinstance(x, bool):
        return lib.constant(x)
    if isinstance(x, bool):
        return lib.constant(float(x))
    return x


def _float(x: Any, lib: Library) -> Any:
    """x as a float tensor of the library's float type (booleans count 0/1)."""
    raw = _raw(x, lib)
    dtype = str(getattr(raw, "dtype", ""))
    if lib.float_dtype not in dtype:
        raw = lib.cast(raw, lib.float_dtype)
    return raw


class TracedOps:
    """``lrsched._ops``' namespace over a traced library (see the module docstring)."""

    pi = math.pi
    # The one-argument functions, set on the class below.
    floor: Callable[[Any], Array]
    cos: Callable[[Any], Array]
    sin: Callable[[Any], Array]
    tanh: Callable[[Any], Array]
    abs: Callable[[Any], Array]
    exp: Callable[[Any], Array]
    log: Callable[[Any], Array]
    log1p: Callable[[Any], Array]
    sqrt: Callable[[Any], Array]

    def __init__(self, lib: Library, *, user_functions: bool = False):
        self.lib = lib
        self.name = f"traced:{type(lib).__name__}"
        # Off by default: a user's function traced on tensors is only used where an
        # adapter has checked it against the core (see ``user``).
        self.user_functions = user_functions
        self._kept_products: dict[int, KeptProduct] = {}

    def _wrap(self, raw: Any) -> Array:
        return Array(raw, self.lib)

    def _f(self, x: Any) -> Any:
        return _float(x, self.lib)

    def steps(self, t: Any) -> Array:
        """Wrap a traced step tensor as float steps for ``schedule._values``."""
        return self._wrap(self._f(self.lib.cast(t, self.lib.float_dtype)))

    def asarray(self, x):
        return x if isinstance(x, Array) else self._wrap(self._f(x))

    def where(self, condition, a, b):
        condition = _raw(condition, self.lib)
        return self._wrap(self.lib.where(condition, self._f(a), self._f(b)))

    def minimum(self, a, b):
        return self._wrap(self.lib.minimum(self._f(a), self._f(b)))

    def maximum(self, a, b):
        return self._wrap(self.lib.maximum(self._f(a), self._f(b)))

    def clip(self, x, low, high):
        return self.minimum(self.maximum(x, low), high)

    def fmod(self, x, divisor):
        return self._wrap(self.lib.fmod(self._f(x), self._f(divisor)))

    def power(self, base, exponent):
        return self._wrap(self.lib.power(self._f(base), self._f(exponent)))

    def full_like(self, t, value):
        return self._wrap(self.lib.full(t.shape, float(value)))

    def searchsorted(self, edges: Sequence[float], t, side: str):
        if not len(edges):
            return self._wrap(self.lib.cast(self._f(t) * 0.0, self.lib.index_dtype))
        found = self.lib.searchsorted(self.lib.constant(list(edges)), self._f(t), side)
        return self._wrap(self.lib.cast(found, self.lib.index_dtype))

    def take(self, table, index):
        raw = self.lib.cast(_raw(index, self.lib), self.lib.index_dtype)
        return self._wrap(self.lib.take(self.lib.constant(np.asarray(table)), raw))

    def interp(self, t, xs: Sequence[float], ys: Sequence[float]):
        """numpy's interp: the segment's slope from its left point; the end values
        outside [xs[0], xs[-1]], and a segment's right value at its right point."""
        xs, ys = [float(x) for x in xs], [float(y) for y in ys]
        if len(xs) == 1:
            return self.full_like(t, ys[0])
        segment = self.clip(self.searchsorted(xs, t, "right") - 1.0, 0.0, len(xs) - 2.0)
        x0, x1 = self.take(xs, segment), self.take(xs, segment + 1.0)
        y0, y1 = self.take(ys, segment), self.take(ys, segment + 1.0)
        width = x1 - x0
        slope = (y1 - y0) / self.where(width > 0.0, width, 1.0)
        inside = self.where(t == x1, y1, self.where(y0 == y1, y0, slope * (t - x0) + y0))
        return self.where(t <= xs[0], ys[0], self.where(t >= xs[-1], ys[-1], inside))

    def floor_divmod(self, t, divisor):
        """``(np.floor_divide(t, d), np.fmod(t, d))`` as numpy computes them: the quotient
        from the exact remainder, rounded to the nearest whole number."""
        remainder = self.fmod(t, divisor)
        quotient = (t - remainder) / divisor
        floored = self.floor(quotient)
        quotient = self.where(quotient - floored > 0.5, floored + 1.0, floored)
        return quotient, remainder

    def integer_powers(self, scale, base, exponent):
        return self.power(base, exponent) * scale

    def piecewise(self, t, edges: Sequence[float], side: str, piece: Callable):
        index = self.searchsorted(edges, t, side)
        bounds = [-math.inf, *[float(edge) for edge in edges], math.inf]
        result = None
        for number in range(len(bounds) - 1):
            low, high = bounds[number], bounds[number + 1]
            steps = t
            if low > -math.inf:
                steps = self.maximum(steps, low)
            if high < math.inf:
                steps = self.minimum(steps, high)
            values = self.asarray(piece(number, steps))
            if values.shape != t.shape:
                values = values + self.full_like(t, 0.0)
            result = (
                values if result is None else self.where(index == float(number), values, result)
            )
        return result

    def values_of(self, schedule, t):
        return self.asarray(schedule._values(t, self))

    def user(self, fn, t, *, func: str, name: str, at: str = "step"):
        """fn called on the step tensor itself (with ``user_functions``; refused otherwise).

        Its factors are checked (finite, >= 0) where their values are known, i.e. on eager
        tensors; inside a trace nothing can check them (see the module docstring). The
        refusals name the function itself (``func``, ``name`` and ``at`` are numpy's: the
        family and parameter its errors name).
        """
        described = getattr(fn, "__qualname__", repr(fn))
        if not self.user_functions:
            check.refuse(
                f"a user function ({described!r}) cannot run inside traced code", TypeError
            )
        try:
            factors = self.asarray(self.lib.call(fn, t.value))
        except Exception as error:
            try:
                one_at_a_time = self.lib.elementwise(fn, t.value)
            except Exception:  # the first error says more: the function's own
                one_at_a_time = None
            if one_at_a_time is None:
                raise UntracedFunction(
                    fn,
                    f"{described} could not be run on a tensor: {type(error).__name__}: {error}",
                ) from error
            factors = self.asarray(one_at_a_time)
        if factors.shape != t.shape:
            if factors.shape not in ((), (1,)):
                raise UntracedFunction(
                    fn, f"{described} returned shape {factors.shape} for steps of shape {t.shape}"
                )
            factors = factors + self.full_like(t, 0.0)
        values = self.lib.concrete(factors.value)
        steps = self.lib.concrete(t.value)
        if values is not None and steps is not None:
            bad = np.flatnonzero(~(np.isfinite(values) & (values >= 0)))
            if bad.size:
                where = bad[0]
                raise UntracedFunction(
                    fn,
                    f"{described} returned {float(values[where])!r} on a tensor at "
                    f"{float(steps[where])!r}; factors must be finite and >= 0",
                )
        return factors

    def running_products(self, schedule, base: float, ks: Array, factors: Callable) -> Array:
        """``multiplicative``'s running products at the whole steps ``ks`` (an index tensor).

        The product at step k needs every factor before it, and a compiled step cannot ask
        the host's, so the namespace keeps one in the compiled step (``KeptProduct``): the
        latest step asked and its product, in variables. A training loop asks the same step
        or the next one, one factor a step, multiplied in the core's order; any other step
        (the first after a resume, a jump) is computed from the nearest kept product in
        chunks of ``KeptProduct.CHUNK`` factors. Where it starts is the product the core
        computed on the host at the smallest step of the first, eager, call (the adapter's
        check, which also proves the user's function on tensors); a step before that starts
        from ``base`` at step 0.
        """
        if not self.user_functions:
            check.refuse(
                "a running product of a user function cannot run inside traced code", TypeError
            )
        kept = self._kept_products.get(id(schedule))
        if kept is None:
            kept = self._kept_products[id(schedule)] = KeptProduct.start(self, schedule, base, ks)
        return kept.at(ks, factors)


class UntracedFunction(TypeError):
    """A user's function that cannot be used traced (``TracedOps.user``): ``reason`` says why."""

    def __init__(self, fn: Callable, reason: str):
        super().__init__(reason)
        self.fn, self.reason = fn, reason


class KeptProduct:
    """A multiplicative's latest running product, kept in a compiled step's variables
    (``TracedOps.running_products`` says how it is used)."""

    CHUNK = 2**12  # factors per loop turn where a step is far from the kept product

    def __init__(self, ops: TracedOps, lib: KerasLibrary, checkpoint: int, product: float, base):
        self.ops, self.lib, self.base = ops, lib, base
        self.checkpoint, self.checkpoint_product = checkpoint, product
        self.last_step = lib.variable(checkpoint, "int64")
        self.last_product = lib.variable(product, "float64")

    @classmethod
    def start(cls, ops: TracedOps, schedule: Any, base: float, ks: Array) -> KeptProduct:
        lib = ops.lib
        if not (isinstance(lib, KerasLibrary) and lib.backend == "tensorflow"):
            raise UntracedFunction(
                schedule.fn,
                "multiplicative's value at a step is the running product of every factor "
                "before it, which this backend's compiled step cannot keep",
            )
        steps = lib.concrete(ks.value)
        if steps is None or not steps.size:
            raise UntracedFunction(
                schedule.fn,
                "multiplicative's running product is kept in a compiled step only from a "
                "product the core computed first, at steps known eagerly",
            )
        first = int(steps.min())
        # The core's own product at that step, on the host: exact, and cached with it.
        product = float(np.asarray(schedule(np.array([float(first)])), dtype=np.float64)[0])
        return cls(ops, lib, first, product, base)

    def at(self, ks: Array, factors: Callable) -> Array:
        ops = self.lib.ops
        flat = ops.reshape(ops.cast(ks.value, "int64"), (-1,))
        last = ops.convert_to_tensor(self.last_step)
        product = ops.convert_to_tensor(self.last_product)
        if flat.shape[0] == 1:
            step = flat[0]

            def next_one():
                # One step on from the kept one (or the same): one factor, in the core's
                # order, ((base * f(1)) * f(2)) * ...
                factor = self._factors(ops.reshape(step, (1,)), factors)[0]
                return ops.where(step == last, product, product * factor)

            value = ops.cond(
                ops.logical_and(step >= last, step <= last + 1),
                next_one,
                lambda: self._from_nearest(flat, last, product, factors)[0],
            )
            values = ops.reshape(value, (1,))
            newest = step
        else:
            values = self._from_nearest(flat, last, product, factors)
            where = ops.argmax(flat)
            newest, value = flat[where], values[where]
        self.last_step.assign(newest)
        self.last_product.assign(value)
        return self.ops._wrap(ops.reshape(values, ops.shape(ks.value)))

    def _factors(self, steps: Any, factors: Callable) -> Any:
        steps = self.ops.steps(steps)
        return _float(factors(steps), self.lib)

    def _from_nearest(self, flat: Any, last: Any, product: Any, factors: Callable) -> Any:
        """The products at ``flat`` from the nearest kept product at or before them all:
        the latest, the checkpoint, or ``base`` at step 0."""
        ops, chunk = self.lib.ops, self.CHUNK
        low = ops.min(flat)
        checkpoint = ops.convert_to_tensor(self.checkpoint, "int64")
        from_latest, from_checkpoint = low >= last, low >= checkpoint
        start = ops.where(
            from_latest, last, ops.where(from_checkpoint, checkpoint, ops.zeros_like(last))
        )
        start_product = ops.where(
            from_latest,
            product,
            ops.where(
                from_checkpoint,
                ops.convert_to_tensor(self.checkpoint_product, "float64"),
                ops.convert_to_tensor(self.base, "float64"),
            ),
        )
        stop = ops.max(flat)
        offsets = ops.arange(chunk, dtype="int64")
        first = ops.equal(offsets, 0)
        found = ops.where(flat == start, start_product, ops.zeros_like(flat, "float64"))

        def more(begin, carried, values):
            return begin <= stop

        def turn(begin, carried, values):
            steps = begin + offsets
            chunk_factors = self._factors(steps, factors)
            # The core's order again: the carried product times the first factor, then on.
            chunk_products = ops.cumprod(ops.where(first, chunk_factors * carried, chunk_factors))
            inside = ops.logical_and(flat >= begin, flat < begin + chunk)
            index = ops.clip(flat - begin, 0, chunk - 1)
            values = ops.where(inside, ops.take(chunk_products, index), values)
            return begin + chunk, chunk_products[chunk - 1], values

        _, _, found = ops.while_loop(more, turn, (start + 1, start_product, found))
        return found


def traced_values(schedule: Any, steps: Any, ops: TracedOps) -> Any:
    """``schedule``'s formula at a traced step tensor, as a raw float tensor."""
    return ops.values_of(schedule, ops.steps(steps)).value


def _elementwise(name: str):
    def apply(self: TracedOps, x: Any) -> Array:
        return self._wrap(getattr(self.lib, name)(self._f(x)))

    apply.__name__ = apply.__qualname__ = name
    return apply


# The one-argument functions of the vocabulary: the library's own, on float tensors.
for _name in ("floor", "cos", "sin", "tanh", "abs", "exp", "log", "log1p", "sqrt"):
    setattr(TracedOps, _name, _elementwise(_name))


# Near 0 the bound is absolute: this fraction of the schedule's scale (module docstring).
NEAR_ZERO = 2.0**-48


def scale(schedule: Any, steps: np.ndarray) -> float:
    """What the bound near 0 is relative to: the schedule's largest value at step 0 and at
    ``steps``; for a product, at least the product of its factors' scales; for another
    composite, at least the largest of its parts' (see the module docstring)."""
    import lrsched

    with np.errstate(all="ignore"):
        values = np.asarray(schedule(np.concatenate([[0.0], steps])), dtype=np.float64)
    largest = float(values.max())
    if isinstance(schedule, lrsched.product):
        factors = math.prod(
            scale(factor, steps) if isinstance(factor, lrsched.Schedule) else float(factor)
            for factor in schedule.factors
        )
        return max(largest, factors)
    parts = [largest]
    for child in schedule.children():
        try:
            parts.append(scale(child, steps))
        except (TypeError, ValueError):  # a part the core refuses alone (float64 overflow)
            continue
    return max(parts)


def first_disagreement(schedule: Any, steps: np.ndarray, got: np.ndarray) -> int | None:
    """The index of the first of ``steps`` (float64) where the float32 ``got`` is not the
    core's ``np.float32(s(t))`` within the bound of the module docstring, or None."""
    want = np.asarray(schedule(steps), dtype=np.float32)
    got = np.asarray(got, dtype=np.float32)
    # + 0.0 turns -0.0 into 0.0; LRs are >= 0, so float32 bit patterns order like values.
    bits_got = (got + np.float32(0.0)).view(np.int32).astype(np.int64)
    bits_want = (want + np.float32(0.0)).view(np.int32).astype(np.int64)
    with np.errstate(invalid="ignore"):
        near = np.abs(np.float64(got) - np.float64(want)) <= NEAR_ZERO * scale(schedule, steps)
    # TensorFlow's XLA flushes float32 subnormals to 0.
    near |= (np.abs(want) < np.finfo(np.float32).tiny) & (got == 0.0)
    bad = ~(np.isfinite(got) & (got >= 0.0) & ((np.abs(bits_got - bits_want) <= 1) | near))
    return int(np.argmax(bad)) if bad.any() else None
