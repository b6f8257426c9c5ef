"""In-memory rewrites that let the shipped ONNX files load in plain ONNX Runtime.

Each fix is named in the manifest entry of the model it applies to and runs after the file's
sha256 has been checked, so the bytes on disk are never altered.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models import onnx_wire as w

# ModelProto.graph; GraphProto.node/initializer/input/output; NodeProto.input/output/op_type/
# attribute; AttributeProto.name/i; TensorProto.dims/data_type/float_data/int32_data/
# int64_data/name/raw_data; ValueInfoProto.name
M_GRAPH = 7
G_NODE, G_INIT, G_INPUT, G_OUTPUT, G_VALUE_INFO = 1, 5, 11, 12, 13
N_IN, N_OUT, N_NAME, N_OP, N_ATTR = 1, 2, 3, 4, 5
A_NAME, A_INT = 1, 3
T_DIMS, T_TYPE, T_FLOAT, T_INT32, T_INT64, T_NAME, T_RAW = 1, 2, 4, 5, 7, 8, 9

_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),
    2: np.dtype("u1"),
    3: np.dtype("i1"),
    4: np.dtype("<u2"),
    5: np.dtype("<i2"),
    6: np.dtype("<i4"),
    7: np.dtype("<i8"),
    11: np.dtype("<f8"),
}


class GraphFixError(ValueError):
    """A named fix does not apply to this model."""

    code = "graph_fix_failed"


def _edit_graph(model: bytes, edit: Callable[[list[w.Field]], list[w.Field]]) -> bytes:
    fields = w.parse(model)
    out = [
        w.message_field(M_GRAPH, edit(w.parse(f.data))) if f.num == M_GRAPH else f for f in fields
    ]
    return w.serialize(out)


def _initializers(graph: list[w.Field]) -> dict[str, list[w.Field]]:
    tensors = (w.parse(f.data) for f in graph if f.num == G_INIT)
    return {w.text(t, T_NAME): t for t in tensors}


def _tensor_array(tensor: list[w.Field]) -> np.ndarray:
    """Decode a TensorProto held in raw_data or the typed repeated fields."""
    dims = w.ints(tensor, T_DIMS)
    code = (w.ints(tensor, T_TYPE) or [0])[0]
    if code not in _DTYPES:
        raise GraphFixError(f"tensor type {code} not supported")
    dtype = _DTYPES[code]
    raw = next((f.data for f in tensor if f.num == T_RAW), None)
    if raw is not None:
        arr = np.frombuffer(raw, dtype=dtype)
    elif code == 1:
        packed = b"".join(f.data for f in tensor if f.num == T_FLOAT)
        arr = np.frombuffer(packed, dtype="<f4")
    else:
        arr = np.array(w.ints(tensor, T_INT64 if code == 7 else T_INT32), dtype=dtype)
    return arr.reshape(dims)


def _float_tensor(name: str, arr: np.ndarray) -> list[w.Field]:
    dims = [w.int_field(T_DIMS, int(d)) for d in arr.shape]
    raw = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    return [*dims, w.int_field(T_TYPE, 1), w.string_field(T_NAME, name), w.Field(T_RAW, w.LEN, raw)]


def _attrs(node: list[w.Field]) -> dict[str, list[w.Field]]:
    parsed = (w.parse(f.data) for f in node if f.num == N_ATTR)
    return {w.text(a, A_NAME): a for a in parsed}


def scalarise_dq_scales(model: bytes) -> bytes:
    """Make one-element DequantizeLinear scales/zero points scalars and drop block_size/axis."""

    def edit(graph: list[w.Field]) -> list[w.Field]:
        inits = _initializers(graph)
        scalar: set[str] = set()
        out: list[w.Field] = []
        for f in graph:
            if f.num == G_NODE:
                node = w.parse(f.data)
                names = w.texts(node, N_IN)
                if w.text(node, N_OP) == "DequantizeLinear" and len(names) > 1:
                    scale = inits.get(names[1])
                    if scale is not None and int(np.prod(w.ints(scale, T_DIMS))) == 1:
                        scalar.update(names[1:])
                        node = [
                            a
                            for a in node
                            if a.num != N_ATTR
                            or w.text(w.parse(a.data), A_NAME) not in ("block_size", "axis")
                        ]
                        f = w.message_field(G_NODE, node)
            out.append(f)
        return [
            w.message_field(G_INIT, [t for t in w.parse(f.data) if t.num != T_DIMS])
            if f.num == G_INIT and w.text(w.parse(f.data), T_NAME) in scalar
            else f
            for f in out
        ]

    return _edit_graph(model, edit)


def _prune(graph: list[w.Field]) -> list[w.Field]:
    """Drop graph inputs that no node reads or that are initializers, and unused initializers."""
    read = {n for f in graph if f.num == G_NODE for n in w.texts(w.parse(f.data), N_IN)}
    read |= {w.text(w.parse(f.data), 1) for f in graph if f.num == G_OUTPUT}
    inits = set(_initializers(graph))

    def keep(f: w.Field) -> bool:
        if f.num == G_INPUT:
            name = w.text(w.parse(f.data), 1)
            return name in read and name not in inits
        if f.num == G_INIT:
            return w.text(w.parse(f.data), T_NAME) in read
        return True

    return [f for f in graph if keep(f)]


def prune_unused(model: bytes) -> bytes:
    """Drop graph inputs that no node reads or that are initializers, and unused initializers."""
    return _edit_graph(model, _prune)


def _with_dims(value_info: list[w.Field], dims: dict[int, str]) -> list[w.Field]:
    """Rewrite ValueInfoProto.type.tensor_type.shape dims at the given indices as dim_params."""

    def sub(
        fields: list[w.Field], num: int, edit: Callable[[list[w.Field]], list[w.Field]]
    ) -> list[w.Field]:
        return [w.message_field(num, edit(w.parse(f.data))) if f.num == num else f for f in fields]

    def shape(fields: list[w.Field]) -> list[w.Field]:
        out, i = [], 0
        for f in fields:
            if f.num == 1:  # TensorShapeProto.dim
                if i in dims:
                    f = w.message_field(1, [w.string_field(2, dims[i])])
                i += 1
            out.append(f)
        return out

    return sub(value_info, 2, lambda t: sub(t, 1, lambda tt: sub(tt, 2, shape)))


def symbolic_hw(model: bytes) -> bytes:
    """Make the image input's height/width and the outputs' anchor count symbolic."""

    def edit(graph: list[w.Field]) -> list[w.Field]:
        out = []
        for f in graph:
            if f.num == G_VALUE_INFO:
                continue  # intermediate shape hints were computed for 640x640 only
            if f.num == G_INPUT:
                f = w.message_field(G_INPUT, _with_dims(w.parse(f.data), {2: "H", 3: "W"}))
            elif f.num == G_OUTPUT:
                f = w.message_field(G_OUTPUT, _with_dims(w.parse(f.data), {1: "anchors"}))
            out.append(f)
        return out

    return _edit_graph(model, edit)


def _dequantize(
    x: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int
) -> np.ndarray:
    """Reference DequantizeLinear (opset 21): scalar, per-axis or blocked."""
    xf = x.astype(np.float32)
    if scale.size == 1:
        return (xf - zero.astype(np.float32).reshape(())) * scale.reshape(())
    axis %= x.ndim
    if block:
        s = np.repeat(scale, block, axis=axis).take(range(x.shape[axis]), axis=axis)
        z = np.repeat(zero, block, axis=axis).take(range(x.shape[axis]), axis=axis)
    else:
        shape = [1] * x.ndim
        shape[axis] = -1
        s, z = scale.reshape(shape), zero.reshape(shape)
    return (xf - z.astype(np.float32)) * s.astype(np.float32)


def dequantize_weights(model: bytes) -> bytes:
    """Replace DequantizeLinear nodes over constant weights with fp32 initializers."""

    def edit(graph: list[w.Field]) -> list[w.Field]:
        inits = _initializers(graph)
        added: list[w.Field] = []
        kept: list[w.Field] = []
        for f in graph:
            if f.num != G_NODE:
                kept.append(f)
                continue
            node = w.parse(f.data)
            names = w.texts(node, N_IN)
            if w.text(node, N_OP) != "DequantizeLinear" or not all(n in inits for n in names):
                kept.append(f)
                continue
            attrs = _attrs(node)
            axis = (w.ints(attrs["axis"], A_INT) or [1])[0] if "axis" in attrs else 1
            block = (w.ints(attrs["block_size"], A_INT) or [0])[0] if "block_size" in attrs else 0
            x, scale = _tensor_array(inits[names[0]]), _tensor_array(inits[names[1]])
            zero = _tensor_array(inits[names[2]]) if len(names) > 2 else np.zeros_like(scale)
            y = _dequantize(x, scale, zero, axis, block)
            added.append(w.message_field(G_INIT, _float_tensor(w.texts(node, N_OUT)[0], y)))
        return _prune(kept + added)

    return _edit_graph(model, edit)


def branchless_prelu(model: bytes) -> bytes:
    """Rewrite ``PRelu(x, a)`` as ``Relu(x) + a * Min(x, 0)``: the same values, bit for bit.

    ONNX Runtime's CPU PRelu kernel branches on the sign of every element, so its time
    depends on the data and in SFace it costs more than all the convolutions together
    (8–12 ms of ~15–19 ms per face on one thread); the rewrite uses vectorised kernels.
    """
    zero = "ekyc.prelu.zero"

    def rewrite(node: list[w.Field], k: int) -> list[w.Field]:
        x, slope = w.texts(node, N_IN)
        (y,) = w.texts(node, N_OUT)
        neg, pos, scaled = (f"{y}.ekyc.{part}" for part in ("min", "relu", "scaled"))

        def op(kind: str, inputs: list[str], output: str) -> w.Field:
            fields = [w.string_field(N_IN, i) for i in inputs]
            fields += [
                w.string_field(N_OUT, output),
                w.string_field(N_NAME, f"ekyc_prelu_{k}_{kind}"),
            ]
            return w.message_field(G_NODE, [*fields, w.string_field(N_OP, kind)])

        return [
            op("Min", [x, zero], neg),
            op("Mul", [slope, neg], scaled),
            op("Relu", [x], pos),
            op("Add", [pos, scaled], y),
        ]

    def edit(graph: list[w.Field]) -> list[w.Field]:
        out: list[w.Field] = []
        count = 0
        for f in graph:
            node = w.parse(f.data) if f.num == G_NODE else None
            if node is not None and w.text(node, N_OP) == "PRelu":
                out.extend(rewrite(node, count))
                count += 1
            else:
                out.append(f)
        if count:
            out.append(w.message_field(G_INIT, _float_tensor(zero, np.zeros((), np.float32))))
        return out

    return _edit_graph(model, edit)


FIXES: dict[str, Callable[[bytes], bytes]] = {
    "scalarise_dq_scales": scalarise_dq_scales,
    "symbolic_hw": symbolic_hw,
    "prune_unused": prune_unused,
    "dequantize_weights": dequantize_weights,
    "branchless_prelu": branchless_prelu,
}


def apply_fixes(model: bytes, names: tuple[str, ...] | list[str]) -> bytes:
    """Apply the named fixes in order."""
    for name in names:
        if name not in FIXES:
            raise GraphFixError(f"unknown graph fix {name!r}")
        model = FIXES[name](model)
    return model
