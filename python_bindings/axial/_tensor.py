"""Memory exchange: dtype names, :class:`Tensor` (memory Axial hands out or borrows, exported through
DLPack), and zero-copy NumPy views of memory owned by C objects."""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

from . import _axial
from .errors import InvalidArgumentError, UnsupportedError

try:  # bfloat16 for NumPy
    import ml_dtypes as _ml_dtypes

    BFLOAT16: Optional[np.dtype] = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - depends on the environment
    _ml_dtypes = None
    BFLOAT16 = None

# ax_dtype code -> (name, NumPy dtype or None, itemsize)
DTYPES = {
    _axial.F32: ("float32", np.dtype(np.float32), 4),
    _axial.F16: ("float16", np.dtype(np.float16), 2),
    _axial.BF16: ("bfloat16", BFLOAT16, 2),
    _axial.F64: ("float64", np.dtype(np.float64), 8),
    _axial.I32: ("int32", np.dtype(np.int32), 4),
    _axial.I64: ("int64", np.dtype(np.int64), 8),
    _axial.U8: ("uint8", np.dtype(np.uint8), 1),
    _axial.I8: ("int8", np.dtype(np.int8), 1),
}
CODE_OF_NAME = {name: code for code, (name, _, _) in DTYPES.items()}
_TYPESTR = {_axial.F32: "<f4", _axial.F16: "<f2", _axial.BF16: "<u2", _axial.F64: "<f8", _axial.I32: "<i4",
            _axial.I64: "<i8", _axial.U8: "|u1", _axial.I8: "|i1"}

CPU, CUDA = 0, 1  # ax_device_type
_DL_CPU, _DL_CUDA = 1, 2


def numpy_dtype(code: int) -> np.dtype:
    """The NumPy dtype of an ax_dtype code (bfloat16 needs ml_dtypes)."""
    name, dt, _ = DTYPES[code]
    if dt is None:
        raise UnsupportedError(f"{name}: NumPy needs the ml_dtypes package for this dtype", 2)
    return dt


class _HostView:
    """An ``__array_interface__`` over host memory that keeps its owner alive (NumPy keeps this object
    as the array's base)."""

    __slots__ = ("__array_interface__", "_owner")

    def __init__(self, owner: Any, ptr: int, code: int, shape: Tuple[int, ...],
                 strides: Optional[Tuple[int, ...]], readonly: bool = False) -> None:
        itemsize = DTYPES[code][2]
        self._owner = owner
        self.__array_interface__ = {
            "version": 3, "data": (ptr, bool(readonly)), "shape": tuple(shape), "typestr": _TYPESTR[code],
            "strides": None if strides is None else tuple(s * itemsize for s in strides),
        }


def host_array(owner: Any, ptr: int, code: int, shape: Tuple[int, ...],
               strides: Optional[Tuple[int, ...]] = None, readonly: bool = False) -> np.ndarray:
    """A NumPy array over host memory at ``ptr`` owned by ``owner`` (no copy); read-only when the
    memory is."""
    if ptr == 0 and math.prod(shape) == 0:
        return np.empty(shape, numpy_dtype(code))
    a = np.asarray(_HostView(owner, ptr, code, shape, strides, readonly))
    if code == _axial.BF16:
        a = a.view(numpy_dtype(code))
    return a


class Tensor:
    """An n-dimensional array in host or CUDA memory that Axial allocated or borrowed.

    Axial returns a ``Tensor`` for CUDA inputs that come from a library it does not know (JAX, or
    another ``Tensor``). It exports itself through DLPack (``__dlpack__``, ``__dlpack_device__``), so
    ``torch.from_dlpack(t)``, ``cupy.from_dlpack(t)``, ``jax.dlpack.from_dlpack(t)`` and, for host
    memory, ``numpy.from_dlpack(t)`` view it without a copy. :meth:`numpy` gives a host NumPy array
    (a view for host memory, a copy for CUDA memory).

    Attributes:
        shape: sizes per dimension.
        strides: strides per dimension, in elements.
        dtype: ``"float32"``, ``"bfloat16"``, ... (see :data:`axial.DTYPES`).
        device: ``("cpu", 0)`` or ``("cuda", id)``.
    """

    __slots__ = ("_owner", "_ptr", "_code", "shape", "strides", "device", "_context", "_readonly")

    def __init__(self, owner: Any, ptr: int, code: int, shape: Tuple[int, ...], strides: Tuple[int, ...],
                 device: Tuple[str, int], context: Any = None, readonly: bool = False) -> None:
        self._readonly = bool(readonly)
        self._owner = owner
        self._ptr = ptr
        self._code = code
        self.shape = tuple(shape)
        self.strides = tuple(strides)
        self.device = device
        self._context = context

    @property
    def dtype(self) -> str:
        """The element type's name."""
        return DTYPES[self._code][0]

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def data_ptr(self) -> int:
        """Address of the first element (host or device pointer)."""
        return self._ptr

    def __repr__(self) -> str:
        dev = self.device[0] if self.device[0] == "cpu" else f"cuda:{self.device[1]}"
        return f"axial.Tensor(shape={self.shape}, dtype={self.dtype}, device={dev})"

    def __dlpack_device__(self) -> Tuple[int, int]:
        """DLPack device: ``(1, 0)`` for host memory, ``(2, id)`` for CUDA."""
        return (_DL_CUDA, self.device[1]) if self.device[0] == "cuda" else (_DL_CPU, 0)

    def __dlpack__(self, *, stream: Optional[int] = None, max_version: Optional[Tuple[int, int]] = None,
                   dl_device: Optional[Tuple[int, int]] = None, copy: Optional[bool] = None) -> Any:
        """A DLPack capsule viewing this tensor (DLPack 1.0 when ``max_version >= (1, 0)``).

        For CUDA memory written by an Axial op, the op's stream is synchronised with the host before the
        capsule is handed out unless the consumer's ``stream`` is that same stream.
        """
        if copy:
            raise BufferError("axial.Tensor exports views only (copy=True is not supported)")
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"axial.Tensor lives on {self.device}, cannot export to DLPack device {dl_device}")
        if self.device[0] == "cuda" and self._context is not None:
            # DLPack names the legacy default stream 1 (0 is not a valid value); the context holds it as 0.
            ours = self._context.stream_ptr
            if stream != ours and not (stream == 1 and ours == 0):
                self._context.synchronize()
        versioned = max_version is not None and tuple(max_version)[0] >= 1
        if self._readonly and not versioned:
            # A legacy capsule has no read-only flag: the consumer would take the memory as writable.
            raise BufferError("axial.Tensor: read-only memory can only be exported as DLPack >= 1.0 "
                              "(pass max_version=(1, 0))")
        device_type = CUDA if self.device[0] == "cuda" else CPU
        return _axial.dlpack_export(self._owner, self._ptr, self._code, device_type, self.device[1], self.shape,
                                    self.strides, versioned, self._readonly)

    def numpy(self) -> np.ndarray:
        """This tensor as a NumPy array: a view of host memory, or a copy of CUDA memory."""
        if self.device[0] == "cpu":
            return host_array(self, self._ptr, self._code, self.shape, self.strides, self._readonly)
        from ._attention import context_for  # late import: _attention imports this module

        contiguous = all(
            st == math.prod(self.shape[d + 1:]) for d, st in enumerate(self.strides) if self.shape[d] != 1)
        if not contiguous:
            raise InvalidArgumentError("Tensor.numpy: only contiguous CUDA tensors can be copied to the host", 1)
        host = np.empty(self.shape, numpy_dtype(self._code))
        ctx = self._context or context_for(("cuda", self.device[1]), None)
        _axial.copy(ctx._capsule, 1, self._ptr, host.reshape(-1).view(np.uint8) if host.size else host, host.nbytes)
        return host

    @staticmethod
    def empty(shape: Tuple[int, ...], dtype: str, context: Any) -> "Tensor":
        """An uninitialised contiguous tensor on ``context``'s device (host or CUDA memory)."""
        code = CODE_OF_NAME[dtype]
        nbytes = math.prod(shape) * DTYPES[code][2]
        memory, ptr = _axial.device_alloc(context._capsule, nbytes)
        strides = tuple(math.prod(shape[d + 1:]) for d in range(len(shape)))
        device = ("cuda", context.device[1]) if context.device[0] == "cuda" else ("cpu", 0)
        return Tensor(memory, ptr, code, shape, strides, device, context)


def from_dlpack(x: Any, *, stream: Optional[int] = None) -> Tensor:
    """Views any array (DLPack producer or buffer-protocol object) as an :class:`axial.Tensor` without
    copying; the tensor keeps the producer's memory alive. ``stream`` is the CUDA stream on which the
    data will be used (passed to the producer's ``__dlpack__``)."""
    flags = 0
    if BFLOAT16 is not None and isinstance(x, np.ndarray) and x.dtype == BFLOAT16:
        x, flags = x.view(np.uint16), _axial.U16_BF16  # NumPy's buffer protocol cannot carry bfloat16
    holder, ptr, code, device_type, device_id, shape, strides, readonly = _axial.borrow(x, "x", flags, stream)
    device = ("cuda", device_id) if device_type == CUDA else ("cpu", 0)
    return Tensor(holder, ptr, code, shape, strides, device, readonly=readonly)


def describe(x: Any, name: str) -> Tuple[int, Tuple[str, int], Tuple[int, ...]]:
    """(ax_dtype code, device, shape) of any array, without keeping it."""
    if isinstance(x, np.ndarray):
        if BFLOAT16 is not None and x.dtype == BFLOAT16:
            return _axial.BF16, ("cpu", 0), x.shape
        _, _, code, _, _, shape, _, _ = _axial.borrow(x, name, 0, None)
        return code, ("cpu", 0), shape
    if isinstance(x, Tensor):
        return x._code, x.device, x.shape
    _, _, code, device_type, device_id, shape, _, _ = _axial.borrow(x, name, 0, None)
    return code, (("cuda", device_id) if device_type == CUDA else ("cpu", 0)), shape
