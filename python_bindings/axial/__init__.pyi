from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import llm as llm
from . import serving as serving
from ._attention import Context as Context
from ._tensor import Tensor as Tensor
from .errors import (AxialError as AxialError, BusyError as BusyError, CudaError as CudaError,
                     DS4SciInvalidArgumentError as DS4SciInvalidArgumentError, FileError as FileError,
                     FormatError as FormatError, InternalError as InternalError,
                     InvalidArgumentError as InvalidArgumentError, MPIError as MPIError, NCCLError as NCCLError,
                     OutOfMemoryError as OutOfMemoryError, UnsupportedError as UnsupportedError)

__version__: str
BFLOAT16: Optional[np.dtype]

def info() -> Dict[str, Any]:
    """Build options and devices: version, cuda, mpi, nccl, hdf5, png, openmp, stable_abi,
    bfloat16_numpy, cpu_features, amx_granted, amx_tiles, cpu_path, blas_core, blas_core_lags_cpu, cuda_devices."""

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

def attention(q: Any, k: Any, v: Any, *, causal: bool = False, window: Tuple[int, int] = (-1, -1),
              bias: Any = None, scale: Optional[float] = None, softcap: float = 0.0, cu_seqlens_q: Any = None,
              cu_seqlens_k: Any = None, max_seqlen_q: int = 0, max_seqlen_k: int = 0, return_lse: bool = False,
              out: Any = None, lse: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """Flash attention forward (causal, window, GQA, packed batches, bias, soft-cap); ``(out, lse)``
    with ``return_lse``."""

def attention_backward(q: Any, k: Any, v: Any, out: Any, lse: Any, dout: Any, *, causal: bool = False,
                       window: Tuple[int, int] = (-1, -1), bias: Any = None, scale: Optional[float] = None,
                       softcap: float = 0.0, cu_seqlens_q: Any = None, cu_seqlens_k: Any = None,
                       max_seqlen_q: int = 0, max_seqlen_k: int = 0, want_dbias: bool = True,
                       grads: Optional[Tuple[Any, Any, Any, Any]] = None, context: Optional[Context] = None,
                       stream: Any = None) -> Tuple[Any, Any, Any, Optional[Any]]:
    """(dq, dk, dv, dbias) of :func:`attention`; deterministic."""

def paged_attention(q: Any, k_cache: Any, v_cache: Any, block_table: Any, context_lens: Any, cu_seqlens_q: Any, *,
                    causal: bool = True, window: Tuple[int, int] = (-1, -1), scale: Optional[float] = None,
                    softcap: float = 0.0, k_scales: Any = None, v_scales: Any = None, num_splits: int = 0,
                    max_seqlen_q: int = 0, max_context_len: int = 0, return_lse: bool = False, out: Any = None,
                    lse: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """Attention of a ragged batch of query tokens over a blocked KV cache."""

def kv_cache_append(k: Any, v: Any, slot_mapping: Any, k_cache: Any, v_cache: Any, *, k_scales: Any = None,
                    v_scales: Any = None, context: Optional[Context] = None, stream: Any = None) -> None:
    """Writes new K/V rows into their cache slots (int8/fp8 caches with per-block scales)."""

def rms_norm(x: Any, weight: Any = None, eps: float = 1e-05, *, residual: Any = None, return_residual: bool = False,
             out: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """RMSNorm over the last dim (``ax_rms_norm``; with ``residual``, ``ax_rms_norm_residual``: the norm of ``x +
    residual``, the Llama pre-norm pattern). Returns ``out`` in x's dtype, or ``(out, h)`` with
    ``return_residual`` (h = x + residual, the next layer's residual stream)."""

def rms_norm_backward(x: Any, weight: Any, dout: Any, eps: float = 1e-05, *, context: Optional[Context] = None,
                      stream: Any = None) -> Tuple[Any, Any]:
    """Gradients of :func:`rms_norm` (``ax_rms_norm_backward``): ``(dx, dweight)``; dweight (float32 rows summed in
    a fixed order, so deterministic) is None without a weight."""

def layer_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-05, *, residual: Any = None,
               return_residual: bool = False, return_stats: bool = False, out: Any = None,
               context: Optional[Context] = None, stream: Any = None) -> Any:
    """LayerNorm over the last dim (``ax_layer_norm``), optionally of ``x + residual``. Returns ``out``, followed
    by h = x + residual with ``return_residual`` and by the float32 ``(mean, rstd)`` of each row with
    ``return_stats``."""

def layer_norm_backward(x: Any, weight: Any, dout: Any, eps: float = 1e-05, *, want_dbias: bool = True,
                        context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, Any, Any]:
    """Gradients of :func:`layer_norm` (``ax_layer_norm_backward``): ``(dx, dweight, dbias)``, None where not
    wanted or without a weight."""

def rope(x: Any, positions: Any, *, rotary_dim: int = 0, layout: str = 'adjacent', base: float = 10000.0,
         linear_factor: float = 1.0, ntk_factor: float = 1.0, backward: bool = False, out: Any = None,
         context: Optional[Context] = None, stream: Any = None) -> Any:
    """Rotary position embedding of x (T, H, D) at int32/int64 ``positions`` (T,) (``ax_rope``): ``layout``
    "adjacent" (pairs (2i, 2i+1), as GGUF stores Llama's Q/K) or "neox" (pairs (i, i+d/2)); the first
    ``rotary_dim`` (0 = D) elements of each head rotate. ``backward=True`` applies the inverse rotation
    (``ax_rope_backward``: the gradient). ``out`` may be x (in place)."""

def activation(x: Any, kind: str = 'silu', *, dout: Any = None, out: Any = None, context: Optional[Context] = None,
               stream: Any = None) -> Any:
    """Elementwise activation (``ax_activation``): kind "silu", "gelu_tanh" ("gelu") or "gelu_erf". With ``dout``,
    the gradient with respect to x instead (``ax_activation_backward``)."""

def glu(gate: Any, up: Any, kind: str = 'silu', *, out: Any = None, context: Optional[Context] = None,
        stream: Any = None) -> Any:
    """Gated linear unit ``act(gate) * up`` (``ax_glu``): SwiGLU with "silu", GeGLU with "gelu_tanh" / "gelu_erf"."""

def glu_backward(gate: Any, up: Any, dout: Any, kind: str = 'silu', *, context: Optional[Context] = None,
                 stream: Any = None) -> Tuple[Any, Any]:
    """Gradients of :func:`glu` (``ax_glu_backward``): ``(dgate, dup)``."""

def embedding(ids: Any, table: Any, *, table_dtype: Optional[str] = None, out: Any = None,
              context: Optional[Context] = None, stream: Any = None) -> Any:
    """Rows of ``table`` at int32/int64 ``ids`` (T,) -> (T, D) (``ax_embedding``). ``table`` is (V, D)
    float32/bfloat16/float16, or with ``table_dtype`` one of "q4_0", "q4_1", "q8_0", "q4_k", "q6_k" a (V,
    row_bytes) uint8 array of GGUF blocks, dequantized row by row. Returns float32 (T, D) unless ``out``
    (float32, bfloat16 or float16) is given. Ids out of range are an error."""

def softmax(x: Any, scale: float = 1.0, *, dout: Any = None, out: Any = None, context: Optional[Context] = None,
            stream: Any = None) -> Any:
    """Softmax of ``scale * x`` over the last dim (``ax_softmax``). With ``dout``, x must be the softmax output y
    and the result is the gradient with respect to the input (``ax_softmax_backward``)."""

def sample(logits: Any, *, temperature: Any = 1.0, top_k: Any = 0, top_p: Any = 1.0, min_p: Any = 0.0,
           repetition_penalty: Any = 1.0, frequency_penalty: Any = 0.0, presence_penalty: Any = 0.0, seed: Any = 0,
           counter: Any = 0, history: Optional[Sequence[Sequence[int]]] = None, return_probs: bool = False,
           context: Optional[Context] = None, stream: Any = None) -> Any:
    """One token per row of ``logits`` (N, V) (``ax_sample``): penalties over each row's ``history``, temperature
    (0 = greedy), top-k, softmax, top-p, min-p, then a draw with the counter-based uniform of (seed,
    counter), so the same seed and counter give the same token in any batch. Every setting is a scalar for
    all rows or a sequence of N values. Returns int32 tokens (N,) (-1 for a row with every logit -inf), or
    ``(tokens, probs)`` with the chosen tokens' float32 probabilities. CUDA logits must be PyTorch or CuPy
    tensors (the settings are copied to the device with that library)."""

class QWeight:
    """A q4_0 / q4_1 / q8_0 weight matrix copied once into the packed layout of ``ax_qweight_pack`` (host
    memory; N a multiple of 16), for ``qmatmul(x, qweight)``: bit for bit the product with the GGUF matrix,
    faster for one row of x on AVX2 and AVX-512 CPUs when the matrix sits in cache."""
    shape: Tuple[int, int]
    dtype: str
    def __init__(self, w: Any, w_dtype: str) -> None: ...

def qmatmul(x: Any, w: Any, bias: Any = None, *, w_dtype: Optional[str] = None, out: Any = None,
            context: Optional[Context] = None, stream: Any = None) -> Any:
    """``y = x · wᵀ (+ bias)`` with w in GGUF layout (``ax_qmatmul``): x (M, K) float32 or bfloat16; w (N, K)
    float32/bfloat16/float16, or with ``w_dtype`` one of "q4_0", "q4_1", "q8_0", "q4_k", "q6_k" a (N,
    row_bytes) uint8 array of GGUF blocks (as ``gguf.quants.quantize`` returns), or a ``QWeight``
    (``ax_qmatmul_packed``; CPU contexts). Returns y (M, N) float32 unless ``out`` is given."""

def moe_route(logits: Any, k: int, *, gating: str = 'softmax', renormalize: bool = True,
              capacity_factor: float = 0.0, min_capacity: int = 0, return_probs: bool = False,
              return_losses: bool = False, context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, ...]:
    """Routes T tokens to k of E experts (``ax_moe_route``): logits (T, E) -> int32 expert_ids (T, k) (-1 where
    the capacity dropped a choice) and float32 weights (T, k), followed by float32 probs (T, E) with
    ``return_probs`` and float32 ``[aux, z]`` losses (2,) with ``return_losses``. Softmax or sigmoid gating, ties
    to the lowest id, optional renormalisation, capacity ``max(min_capacity, ceil(T * capacity_factor / E))``."""

def moe_route_backward(logits: Any, k: int, dweights: Any = None, *, gating: str = 'softmax',
                       renormalize: bool = True, capacity_factor: float = 0.0, min_capacity: int = 0,
                       aux_coef: float = 0.0, z_coef: float = 0.0, out: Any = None,
                       context: Optional[Context] = None, stream: Any = None) -> Any:
    """dlogits (T, E) of ``sum(dweights * weights) + aux_coef * aux + z_coef * z`` (``ax_moe_route_backward``),
    the selection and drops held fixed."""

def moe_dispatch(x: Any, expert_ids: Any, num_experts: int, *, align: int = 1, num_rows: Optional[int] = None,
                 context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, Any, Any, Any]:
    """Token rows into expert-contiguous order (``ax_moe_dispatch``): ``(x_sorted (R, D), int64 offsets (E + 1,),
    int64 counts (E,), int64 rows (T, k))``, R = T * k + E * (align - 1) unless ``num_rows`` is given."""

def moe_combine(y_sorted: Any, rows: Any, weights: Any = None, *, out: Any = None,
                context: Optional[Context] = None, stream: Any = None) -> Any:
    """``y[t] = sum_j weights[t, j] * y_sorted[rows[t, j]]`` over the kept choices (``ax_moe_combine``); weight 1
    without ``weights`` (the dispatch's backward). Returns y (T, D) in y_sorted's dtype."""

def moe_combine_backward(dy: Any, y_sorted: Any, rows: Any, weights: Any = None, *, num_rows: Optional[int] = None,
                         context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, Optional[Any]]:
    """Gradients of :func:`moe_combine` (``ax_moe_combine_backward``): ``(dy_sorted (R, D), float32 dweights (T,
    k))``; dweights is None without y_sorted (then ``num_rows`` gives R)."""

def moe_grouped_gemm(x: Any, w: Any, offsets: Any, *, trans_w: bool = True, w_dtype: Optional[str] = None,
                     out: Any = None, context: Optional[Context] = None, stream: Any = None) -> Any:
    """Per expert segment ``offsets[e]:offsets[e + 1]`` of x (R, K): ``x[s] @ w[e].T`` with w (E, N, K) (float or,
    with ``w_dtype``, uint8 GGUF blocks (E, N, row_bytes)), or ``x[s] @ w[e]`` with ``trans_w=False`` and w (E, K,
    N) (``ax_moe_grouped_gemm``). Returns y (R, N) in x's dtype."""

def moe_grouped_gemm_dw(dy: Any, x: Any, offsets: Any, *, beta: float = 0.0, out: Any = None,
                        context: Optional[Context] = None, stream: Any = None) -> Any:
    """Expert weight gradient ``dw[e] = dy[s_e].T @ x[s_e] + beta * dw[e]`` (``ax_moe_grouped_gemm_dw``):
    float32 (E, N, K)."""

def moe_ffn(x: Any, router: Any, gate: Any, up: Any, down: Any, *, dense_gate: Any = None, dense_up: Any = None,
            dense_down: Any = None, k: int = 2, gating: str = 'softmax', renormalize: bool = True,
            capacity_factor: float = 0.0, min_capacity: int = 0, act: str = 'silu',
            w_dtype: Union[None, str, Dict[str, str]] = None, return_losses: bool = False, out: Any = None,
            context: Optional[Context] = None, stream: Any = None) -> Any:
    """The SwiGLU MoE feed-forward layer (``ax_moe_ffn_forward``): router (E, D), gate/up (E, F, D), down (E, D,
    F), optional PR-MoE dense MLP dense_gate/dense_up (Fd, D), dense_down (D, Fd); expert and dense weights may be
    uint8 GGUF blocks named by ``w_dtype``. Returns y (T, D), or ``(y, losses)`` with ``return_losses``."""

def moe_ffn_backward(x: Any, router: Any, gate: Any, up: Any, down: Any, dy: Any, *, dense_gate: Any = None,
                     dense_up: Any = None, dense_down: Any = None, k: int = 2, gating: str = 'softmax',
                     renormalize: bool = True, capacity_factor: float = 0.0, min_capacity: int = 0,
                     act: str = 'silu', aux_coef: float = 0.0, z_coef: float = 0.0,
                     context: Optional[Context] = None, stream: Any = None) -> Tuple[Any, ...]:
    """Gradients of :func:`moe_ffn` for ``sum(dy * y) + aux_coef * aux + z_coef * z`` (``ax_moe_ffn_backward``,
    float32): ``(dx, drouter, dgate, dup, ddown, ddense_gate, ddense_up, ddense_down)``, dense ones None without
    the dense MLP."""
