from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from ._attention import Context as Context
from ._tensor import Tensor as Tensor
from .errors import (AxialError as AxialError, CudaError as CudaError,
                     DS4SciInvalidArgumentError as DS4SciInvalidArgumentError, FileError as FileError,
                     FormatError as FormatError, InternalError as InternalError,
                     InvalidArgumentError as InvalidArgumentError, MPIError as MPIError, NCCLError as NCCLError,
                     OutOfMemoryError as OutOfMemoryError, UnsupportedError as UnsupportedError)

__version__: str
BFLOAT16: Optional[np.dtype]

def info() -> Dict[str, Any]:
    """Build options and devices: version, cuda, mpi, nccl, hdf5, png, openmp, stable_abi,
    bfloat16_numpy, cpu_features, amx_granted, cpu_path, cuda_devices."""

def evoformer_attention(q: Any, k: Any, v: Any, bias_mask: Any = None, bias_pair: Any = None, *,
                        return_lse: bool = False, out: Any = None, lse: Any = None,
                        context: Optional[Context] = None, stream: Any = None) -> Any:
    """softmax(q·kᵀ/√D + bias_mask + bias_pair)·v for (B, N, S, H, D) arrays; ``(out, lse)`` with
    ``return_lse``."""

def evoformer_attention_backward(q: Any, k: Any, v: Any, bias_mask: Any, bias_pair: Any, out: Any, lse: Any,
                                 dout: Any, *, grads: Optional[Tuple[Any, Any, Any, Any, Any]] = None,
                                 context: Optional[Context] = None, stream: Any = None
                                 ) -> Tuple[Any, Any, Any, Optional[Any], Optional[Any]]:
    """(dq, dk, dv, dbias_mask, dbias_pair); bias gradients None where the bias is None."""

def attention_probabilities(q: Any, k: Any, bias_mask: Any = None, bias_pair: Any = None, *, b: int = 0,
                            n: int = 0, h: int = 0) -> np.ndarray:
    """One head's (S, S) float32 attention probabilities."""

def from_dlpack(x: Any, *, stream: Optional[int] = None) -> Tensor:
    """A zero-copy axial.Tensor view of any DLPack or buffer-protocol array."""
