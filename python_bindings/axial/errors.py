"""Exceptions raised by Axial: one class per ``ax_status``, all subclasses of :class:`AxialError`, and
:class:`DS4SciInvalidArgumentError`, the DeepSpeed drop-in's form of :class:`InvalidArgumentError`.

Each carries the status code (``status``), its C name (``status_name``, e.g.
``"AX_ERR_INVALID_ARGUMENT"``) and the library's message (``message``, the text of
``ax_last_error()``, naming the argument and the reason).
"""
from __future__ import annotations

import operator
from typing import Any

from . import _axial

__all__ = [
    "AxialError", "InvalidArgumentError", "UnsupportedError", "OutOfMemoryError", "FileError", "FormatError",
    "CudaError", "MPIError", "NCCLError", "InternalError", "BusyError", "DS4SciInvalidArgumentError",
]

STATUS_NAMES = {
    0: "AX_OK", 1: "AX_ERR_INVALID_ARGUMENT", 2: "AX_ERR_UNSUPPORTED", 3: "AX_ERR_OUT_OF_MEMORY", 4: "AX_ERR_IO",
    5: "AX_ERR_FORMAT", 6: "AX_ERR_CUDA", 7: "AX_ERR_MPI", 8: "AX_ERR_NCCL", 9: "AX_ERR_INTERNAL", 10: "AX_ERR_BUSY",
}


class AxialError(RuntimeError):
    """Base class of every error Axial reports.

    Attributes:
        message: the library's detail message (``ax_last_error()``).
        status: the ``ax_status`` code (1..10).
        status_name: the code's C name, e.g. ``"AX_ERR_INVALID_ARGUMENT"``.
    """

    def __init__(self, message: str, status: int = 9) -> None:
        super().__init__(message)
        self.message = message
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, "AX_ERR_UNKNOWN")

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.status))


class InvalidArgumentError(AxialError, ValueError):
    """AX_ERR_INVALID_ARGUMENT: a bad shape, dtype, stride, device, pointer or value."""


class DS4SciInvalidArgumentError(InvalidArgumentError, AssertionError):
    """AX_ERR_INVALID_ARGUMENT raised by the DeepSpeed drop-in (``axial.torch.DS4Sci_EvoformerAttention``
    and ``axial.torch.EvoformerFusedAttention``): DeepSpeed checks its arguments with ``assert``, so code
    written for it catches ``AssertionError``; this class is that and Axial's ``InvalidArgumentError``
    (a ``ValueError``) at once. Errors the C library reports through the drop-in are re-raised as this
    class with the same message and status, the original chained as ``__cause__``. Axial's own
    functions raise plain :class:`InvalidArgumentError`."""


class UnsupportedError(AxialError, NotImplementedError):
    """AX_ERR_UNSUPPORTED: valid, but not supported by this build or device."""


class OutOfMemoryError(AxialError, MemoryError):
    """AX_ERR_OUT_OF_MEMORY: an allocation failed, or the context's workspace limit was reached."""


class FileError(AxialError, OSError):
    """AX_ERR_IO: the operating system refused a file operation."""


class FormatError(AxialError, ValueError):
    """AX_ERR_FORMAT: a file's contents are malformed (the message gives file, line and column)."""


class CudaError(AxialError):
    """AX_ERR_CUDA: the CUDA runtime or cuBLAS reported an error."""


class MPIError(AxialError):
    """AX_ERR_MPI: MPI reported an error."""


class NCCLError(AxialError):
    """AX_ERR_NCCL: NCCL reported an error."""


class InternalError(AxialError):
    """AX_ERR_INTERNAL: a bug in Axial; please report it with the message."""


class BusyError(AxialError):
    """AX_ERR_BUSY: a bounded queue is full (``axial.serving.Engine.submit`` beyond ``max_queue``
    waiting requests); nothing was queued: try again later."""


_axial.register_errors({
    1: InvalidArgumentError, 2: UnsupportedError, 3: OutOfMemoryError, 4: FileError, 5: FormatError,
    6: CudaError, 7: MPIError, 8: NCCLError, 9: InternalError, 10: BusyError,
})


# ---- argument checks shared by the modules (they raise the errors above) ----------------------------

def _integer(name: str, value: Any) -> int:
    """value as an int, or InvalidArgumentError naming it (a float such as 1.5 is not truncated)."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name}: expected an integer, got a bool", 1)
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{name}: expected an integer, got {type(value).__name__}", 1) from None


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name}: expected a number, got {type(value).__name__}", 1) from None
