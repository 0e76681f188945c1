from typing import Any, Optional, Sequence, Tuple

import torch

from .errors import DS4SciInvalidArgumentError as DS4SciInvalidArgumentError

_Gradients = Tuple[Optional[torch.Tensor], Optional[torch.Tensor], Optional[torch.Tensor], Optional[torch.Tensor],
                   Optional[torch.Tensor]]

class EvoformerAttentionFunction(torch.autograd.Function):
    """Axial's forward and backward as a torch.autograd.Function; biases may be left out."""
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                bias_mask: Optional[torch.Tensor] = None,
                bias_pair: Optional[torch.Tensor] = None) -> torch.Tensor: ...
    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> _Gradients: ...

class EvoformerFusedAttention(EvoformerAttentionFunction):
    """DeepSpeed's EvoformerFusedAttention: DS4SciInvalidArgumentError for bad arguments, bias gradients
    in grad_output's dtype."""
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias1: Optional[torch.Tensor] = None,
                bias2: Optional[torch.Tensor] = None) -> torch.Tensor: ...
    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> _Gradients: ...

def evoformer_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        bias_mask: Optional[torch.Tensor] = None,
                        bias_pair: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Differentiable Evoformer attention on PyTorch tensors."""
def DS4Sci_EvoformerAttention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                              biases: Sequence[Optional[torch.Tensor]]) -> torch.Tensor:
    """DeepSpeed's DS4Sci_EvoformerAttention, computed by Axial."""

class FlashAttentionFunction(torch.autograd.Function):
    """Axial's attention forward and backward as a torch.autograd.Function returning (out, lse)."""
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Optional[torch.Tensor],
                cu_seqlens_q: Optional[torch.Tensor], cu_seqlens_k: Optional[torch.Tensor], max_seqlen_q: int,
                max_seqlen_k: int, scale: Optional[float], causal: bool, window_left: int, window_right: int,
                softcap: float) -> Tuple[torch.Tensor, torch.Tensor]: ...
    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor, dlse: Optional[torch.Tensor]) -> Tuple[Optional[torch.Tensor], ...]: ...

def flash_attn_func(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float = 0.0,
                    softmax_scale: Optional[float] = None, causal: bool = False,
                    window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                    alibi_slopes: Optional[torch.Tensor] = None, deterministic: bool = False,
                    return_attn_probs: bool = False) -> Any:
    """flash_attn.flash_attn_func's signature and semantics, on CUDA or CPU tensors."""

def flash_attn_varlen_func(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens_q: torch.Tensor,
                           cu_seqlens_k: torch.Tensor, max_seqlen_q: int, max_seqlen_k: int, dropout_p: float = 0.0,
                           softmax_scale: Optional[float] = None, causal: bool = False,
                           window_size: Tuple[int, int] = (-1, -1), softcap: float = 0.0,
                           alibi_slopes: Optional[torch.Tensor] = None, deterministic: bool = False,
                           return_attn_probs: bool = False, block_table: Optional[torch.Tensor] = None) -> Any:
    """flash_attn.flash_attn_varlen_func's signature and semantics, on CUDA or CPU tensors."""
