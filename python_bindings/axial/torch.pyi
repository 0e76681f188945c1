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
