"""Axial for Python: Evoformer attention (CPU and CUDA) with two bias terms, forward and backward,
without the S×S logits; AlphaFold-style protein features, an HDF5 feature store and training batches
(:mod:`axial.io`); LLM inference on GGUF files (:mod:`axial.llm`) and a serving engine with continuous
batching (:mod:`axial.serving`); transformer and Mixture-of-Experts kernels; and a drop-in for DeepSpeed's
``DS4Sci_EvoformerAttention`` (:mod:`axial.torch`).

Arrays go in through the buffer protocol (NumPy, any strides, no copy) or DLPack (PyTorch, CuPy, JAX,
on the CPU or CUDA). Errors are :class:`AxialError` subclasses carrying the C status and message.
See docs/python.md in the repository.
"""
from __future__ import annotations

from typing import Any, Dict

from . import _axial, llm, serving
from ._attention import Context, attention_probabilities, evoformer_attention, evoformer_attention_backward
from ._moe import (moe_combine, moe_combine_backward, moe_dispatch, moe_ffn, moe_ffn_backward, moe_grouped_gemm,
                   moe_grouped_gemm_dw, moe_route, moe_route_backward)
from ._tensor import BFLOAT16, Tensor, from_dlpack
from ._transformer import (QWeight, activation, attention, attention_backward, embedding, glu, glu_backward,
                           kv_cache_append, layer_norm, layer_norm_backward, paged_attention, qmatmul, rms_norm,
                           rms_norm_backward, rope, sample, softmax)
from .errors import (AxialError, BusyError, CudaError, DS4SciInvalidArgumentError, FileError, FormatError, InternalError,
                     InvalidArgumentError, MPIError, NCCLError, OutOfMemoryError, UnsupportedError)

__version__ = "0.1.0"

__all__ = [
    "AxialError", "BFLOAT16", "BusyError", "Context", "CudaError", "DS4SciInvalidArgumentError", "FileError", "FormatError",
    "InternalError", "InvalidArgumentError", "MPIError", "NCCLError", "OutOfMemoryError", "QWeight", "Tensor",
    "UnsupportedError",
    "activation", "attention", "attention_backward", "attention_probabilities", "embedding", "evoformer_attention",
    "evoformer_attention_backward", "from_dlpack", "glu", "glu_backward", "info", "kv_cache_append", "layer_norm",
    "layer_norm_backward", "llm", "moe_combine", "moe_combine_backward", "moe_dispatch", "moe_ffn", "moe_ffn_backward",
    "moe_grouped_gemm", "moe_grouped_gemm_dw", "moe_route", "moe_route_backward", "paged_attention", "qmatmul",
    "rms_norm", "rms_norm_backward", "rope", "sample", "serving", "softmax",
]


def info() -> Dict[str, Any]:
    """Build options and devices of the Axial library inside this package.

    Returns:
        dict with ``version`` (library), ``package_version``, booleans ``cuda``, ``mpi``, ``nccl``,
        ``hdf5``, ``png``, ``openmp``, ``stable_abi`` (the extension uses CPython's stable ABI),
        ``bfloat16_numpy`` (ml_dtypes is importable), ``cpu_features`` (list of ISA extensions;
        ``amx_tile``/``amx_bf16``/``amx_int8`` as the CPU reports them), ``amx_granted`` (the OS lets
        this process use AMX tiles), ``amx_tiles`` (where the kernels' AMX tile products run:
        ``"hardware"``, ``"emulated"`` with ``AXIAL_AMX=emulate`` (a slow scalar model, for tests) or
        ``"none"``; ``avx512bf16`` selects the bf16 attention products, ``avx512vnni`` the avx512
        path's quantized-matmul kernel),
        ``cpu_path`` (the CPU kernel path in use), ``blas_core`` (the kernel family OpenBLAS chose
        for this CPU) and ``blas_core_lags_cpu`` (True when that family lacks AVX2/FMA the CPU has:
        OpenBLAS did not know the model and its sgemm runs 4-5x slow; set ``OPENBLAS_CORETYPE``
        before Python starts), ``cuda_devices`` (list of dicts with ``id``,
        ``name``, ``total_memory`` in bytes; empty without CUDA or a GPU).
    """
    d = _axial.build_info()
    d["package_version"] = __version__
    d["bfloat16_numpy"] = BFLOAT16 is not None
    return d
