"""In-place numpy from ``sympy.lambdify``'s code (issue 15 item 6): the same operations, fewer
arrays.

:func:`inplace_numpy` rewrites a function printed by ``lambdify(..., "numpy", cse=...)`` into
three-address code (one numpy operation per line, in Python's evaluation order) and lets each
arithmetic operation write its result into an array that the function itself made and no longer
needs (``numpy.multiply(x0, x1, out=x0)``): an operand that dies at that operation, or a dead
temporary of the full batch shape.  Nothing else changes: every operation, its operands and
their order are those of the printed code, so the results are equal bit for bit (tested for
every registered formula, ``tests/test_formulas_inplace.py``); only the memory traffic drops.

What is written into is decided when the function is compiled (liveness of the temporaries) and
confirmed when it runs: an array is reused only if the function made it by an elementwise
arithmetic ufunc (never an argument, never the result of another function, which might return
a view of its input), it is a float64 array of the full broadcast shape of the arguments, and
nothing reads it later.  The in-place version runs only for float64 batches of at least
:data:`INPLACE_MIN_SIZE` elements whose arguments broadcast; everything else (scalars, small or
integer arrays, arb balls, keyword calls) goes to the printed function unchanged.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import itertools
import math

import numpy as np

__all__ = ["inplace_numpy", "INPLACE_MIN_SIZE"]

#: below this many elements (of the arguments' broadcast shape) the printed function is called:
#: reusing memory pays only for arrays far larger than the cache
INPLACE_MIN_SIZE = 4096

#: elementwise ufuncs whose float64 result may be written into a float64 operand's memory
_ARITHMETIC = frozenset(
    {
        np.add,
        np.subtract,
        np.multiply,
        np.true_divide,
        np.power,
        np.negative,
        np.absolute,
        np.fabs,
        np.square,
        np.sqrt,
        np.cbrt,
        np.reciprocal,
        np.exp,
        np.exp2,
        np.expm1,
        np.log,
        np.log2,
        np.log10,
        np.log1p,
        np.sin,
        np.cos,
        np.tan,
        np.arcsin,
        np.arccos,
        np.arctan,
        np.arctan2,
        np.sinh,
        np.cosh,
        np.tanh,
        np.hypot,
        np.maximum,
        np.minimum,
        np.fmax,
        np.fmin,
        np.logaddexp,
    }
)
_BINARY = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide"}
#: ``x ** c`` as numpy's ``**`` evaluates it (its fast paths; the same values as ``power``)
_POWERS = {2: "square", 0.5: "sqrt"}


class Unsupported(Exception):
    """The printed code has a shape the rewrite does not handle (the printed function is used)."""


def inplace_numpy(fn):
    """``fn`` (a ``lambdify``-printed numpy function with positional arguments) with its
    arithmetic done in place where that is safe (module doc); ``fn`` itself if its code has a
    shape the rewrite does not handle."""
    try:
        body = _Rewrite(fn).function()
    except (Unsupported, OSError, TypeError, SyntaxError):
        return fn
    nargs = fn.__code__.co_argcount

    def call(*xs, **kw):
        if kw or len(xs) != nargs:
            return fn(*xs, **kw)
        shape = _batch_shape(xs)
        if shape is None:
            return fn(*xs)
        return body(shape, *xs)

    call.__wrapped__ = fn
    call.__name__ = getattr(fn, "__name__", "inplace")
    call.__doc__ = fn.__doc__
    call.inplace_source = body.source
    return call


def _batch_shape(xs) -> tuple | None:
    """The broadcast shape of ``xs`` when the in-place version applies: every argument a float64
    ndarray or a real Python/numpy scalar (bool excluded), at least one array, the shapes
    broadcasting to :data:`INPLACE_MIN_SIZE` elements or more; ``None`` otherwise."""
    shapes = []
    for x in xs:
        if type(x) is np.ndarray:
            if x.dtype != np.float64:
                return None
            shapes.append(x.shape)
        elif not (type(x) in (float, int) or isinstance(x, (np.floating, np.integer))):
            return None
    if not shapes:
        return None
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        return None
    return shape if math.prod(shape) >= INPLACE_MIN_SIZE else None


class _Rewrite:
    """The three-address form of one printed function and its in-place plan (module doc)."""

    def __init__(self, fn):
        tree = ast.parse(inspect.getsource(fn))
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
            raise Unsupported("not one function")
        fdef = tree.body[0]
        a = fdef.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
            raise Unsupported("only plain positional arguments")
        self.args = [x.arg for x in a.args]
        self.namespace = fn.__globals__
        self.lines: list[dict] = []  # one operation each: target, code, reads, kind
        self.alias: dict[str, ast.expr] = {}  # a printed cse variable -> its temporary
        self.owned: set[str] = set()  # temporaries made by an arithmetic ufunc here
        self.escaped: set[str] = set()  # temporaries another function saw, or returned
        self._names = (f"_t{i}" for i in itertools.count())
        self.result = None
        for stmt in fdef.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # a docstring
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
            ):
                self.alias[stmt.targets[0].id] = self._flat(stmt.value)
            elif isinstance(stmt, ast.Return) and stmt.value is not None:
                self.result = self._returned(stmt.value)
            else:
                raise Unsupported(f"statement {ast.unparse(stmt)}")
        if self.result is None:
            raise Unsupported("no return")

    # -- three-address code ---------------------------------------------------------------
    def _returned(self, node):
        if isinstance(node, (ast.Tuple, ast.List)):
            elts = [self._flat(e) for e in node.elts]
            out = type(node)(elts=elts, ctx=ast.Load())
        else:
            out = self._flat(node)
        for n in ast.walk(out):
            if isinstance(n, ast.Name):
                self.escaped.add(n.id)
        return out

    def _new(self) -> str:
        return next(self._names)

    def _emit(self, code: str, reads: list[str], kind: str, **extra) -> ast.Name:
        target = self._new()
        self.lines.append({"target": target, "code": code, "reads": reads, "kind": kind, **extra})
        if kind == "arith":
            self.owned.add(target)
        return ast.Name(id=target, ctx=ast.Load())

    def _resolve(self, node):
        """The object a printed function name (``sqrt``, ``numpy.sqrt``) stands for, or None."""
        if isinstance(node, ast.Name):
            return self.namespace.get(node.id, getattr(builtins, node.id, None))
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            return getattr(base, node.attr, None) if base is not None else None
        return None

    def _flat(self, node) -> ast.expr:
        """``node`` as a name or a constant, emitting the lines that compute it."""
        if isinstance(node, ast.Name):
            if node.id in self.alias:
                return self.alias[node.id]
            return node
        if isinstance(node, ast.Constant) or not _has_name(node):
            return node  # a constant expression: Python folds it, as in the printed code
        if isinstance(node, ast.BinOp) and type(node.op) in (*_BINARY, ast.Pow):
            left, right = self._flat(node.left), self._flat(node.right)
            plain = ast.unparse(ast.BinOp(left=left, op=node.op, right=right))
            if isinstance(node.op, ast.Pow):
                ufunc, operands = "power", [left, right]
                if not _has_name(right):
                    exponent = _constant(right)
                    if exponent in _POWERS:
                        ufunc, operands = _POWERS[exponent], [left]
            else:
                ufunc, operands = _BINARY[type(node.op)], [left, right]
            return self._arith(f"_np.{ufunc}", operands, plain)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self._flat(node.operand)
            return self._arith("_np.negative", [operand], f"-{_src(operand)}")
        if isinstance(node, ast.Call) and not node.keywords and _positional(node):
            func = self._resolve(node.func)
            args = [self._flat(a) for a in node.args]
            plain = f"{ast.unparse(node.func)}({', '.join(map(_src, args))})"
            if isinstance(func, np.ufunc) and func in _ARITHMETIC and func.nin == len(args):
                return self._arith(ast.unparse(node.func), args, plain)
            return self._opaque(plain, args)
        # anything else (comparisons, lists for select, keywords, ...): evaluated as printed
        node = _Substitute(self.alias).visit(node)
        return self._opaque(ast.unparse(node), [n for n in ast.walk(node)])

    def _arith(self, ufunc: str, operands: list, plain: str) -> ast.Name:
        return self._emit(plain, _read(operands), "arith", ufunc=ufunc, operands=operands)

    def _opaque(self, code: str, nodes: list) -> ast.Name:
        reads = _read(nodes)
        self.escaped.update(reads)  # another function saw them: it may have kept a view
        return self._emit(code, reads, "opaque")

    # -- the in-place plan ----------------------------------------------------------------
    def function(self):
        last = {}
        for k, line in enumerate(self.lines):
            for name in line["reads"]:
                last[name] = k
        reusable = self.owned - self.escaped
        free: list[str] = []  # dead reusable temporaries, most recently freed last
        taken: set[str] = set()
        code = [f"def _inplace(_S, {', '.join(self.args)}):"]
        for k, line in enumerate(self.lines):
            dest, whole = None, False
            if line["kind"] == "arith":
                dying = [
                    n
                    for n in line["reads"]
                    if n in reusable and last.get(n) == k and n not in taken
                ]
                if dying:
                    dest = dying[0]
                elif free:
                    dest, whole = free.pop(), True
                if dest is not None:
                    taken.add(dest)
            for n in line["reads"]:  # temporaries dying here become free after this line
                if n in reusable and last.get(n) == k and n not in taken:
                    free.append(n)
                    taken.add(n)
            code.append(f"    {line['target']} = {self._line(line, dest, whole)}")
        code.append(f"    return {ast.unparse(self.result)}")
        source = "\n".join(code) + "\n"
        namespace = {**self.namespace, "_np": np, "_nd": np.ndarray, "_f8": np.dtype(float)}
        exec(compile(source, "<kdtheory-inplace>", "exec"), namespace)  # noqa: S102
        body = namespace["_inplace"]
        body.source = source
        return body

    @staticmethod
    def _line(line: dict, dest: str | None, whole: bool) -> str:
        if dest is None:
            return line["code"]
        ok = f"{dest}.__class__ is _nd and {dest}.shape == _S and {dest}.dtype == _f8"
        if whole:  # a dead temporary, not an operand: the result must have the full shape
            full = [
                f"({n}.__class__ is _nd and {n}.shape == _S and {n}.dtype == _f8)"
                for n in _read(line["operands"])
            ]
            if not full:
                return line["code"]
            ok += f" and ({' or '.join(full)})"
        args = ", ".join(map(_src, line["operands"]))
        return f"{line['ufunc']}({args}, out={dest}) if {ok} else {line['code']}"


class _Substitute(ast.NodeTransformer):
    """Replace the printed cse variables by their temporaries inside an expression."""

    def __init__(self, alias: dict):
        self.alias = alias

    def visit_Name(self, node):
        return self.alias.get(node.id, node) if isinstance(node.ctx, ast.Load) else node


def _has_name(node) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _positional(node: ast.Call) -> bool:
    return not any(isinstance(a, ast.Starred) for a in node.args)


def _constant(node):
    """The value of a constant expression (``2``, ``1/2``, ``-1``)."""
    return eval(compile(ast.Expression(body=node), "<constant>", "eval"), {})  # noqa: S307


def _read(nodes) -> list[str]:
    out = []
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id not in out:
                out.append(n.id)
    return out


def _src(node) -> str:
    return ast.unparse(node)
