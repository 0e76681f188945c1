from typing import Any, Optional, Sequence

import torch

class EvoformerAttentionFunction(torch.autograd.Function):
    """Axial's forward and backward as a torch.autograd.Function."""
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias_mask: Optional[torch.Tensor],
                bias_pair: Optional[torch.Tensor]) -> torch.Tensor: ...
    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> Any: ...

def evoformer_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        bias_mask: Optional[torch.Tensor] = None,
                        bias_pair: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Differentiable Evoformer attention on PyTorch tensors."""
def DS4Sci_EvoformerAttention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                              biases: Sequence[Optional[torch.Tensor]]) -> torch.Tensor:
    """DeepSpeed's DS4Sci_EvoformerAttention, computed by Axial."""
