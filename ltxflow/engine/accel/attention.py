"""FastAttention: the model's Attention with one packed projection GEMM and a preferred SDPA backend.

`accelerate` builds it from a loaded `Attention` (same parameters, same checkpoint keys) and puts it in the
attention's place. The packed linear is a registered child whose weight the separate projections view, so q|k|v
(self-attention) or k|v (cross-attention) come out of one GEMM.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from ltxflow.engine.transformer.attention import Attention
from ltxflow.engine.transformer.ops import norm_rope
from ltxflow.engine.transformer.rope import Rope

NormRope = Callable[[Tensor, Tensor, float, Rope | None], Tensor]
CudnnVerdicts = dict[tuple, bool]  # q/k/v/mask shapes, strides and dtypes -> whether cuDNN attention accepts them


class FastAttention(Attention):
    """Attention whose `project`, `normalise` and `attend` run the accelerated versions (see module doc)."""

    packed_kind: str  # "qkv" (self-attention) or "kv" (cross-attention): what `packed` computes
    packed: nn.Module | None  # one linear over the concatenated projections, or None (separate GEMMs)
    backends: tuple[SDPBackend, ...]  # SDPA backends to try first on CUDA; () = PyTorch's own choice
    norm_rope_fn: NormRope  # the elementwise q/k norm + RoPE (eager or compiled)
    verdicts: CudnnVerdicts  # the model's memo of cuDNN's layout checks (owned by its Acceleration)

    @classmethod
    def adopt(cls, attn: Attention, self_attention: bool, verdicts: CudnnVerdicts) -> FastAttention:
        """A FastAttention sharing every parameter and child of `attn` (nothing is copied)."""
        if isinstance(attn, FastAttention):
            attn.verdicts = verdicts
            return attn
        fast = cls.__new__(cls)
        fast.__dict__.update(attn.__dict__)  # the same nn.Module state: parameters, children, settings
        fast.packed_kind = "qkv" if self_attention else "kv"
        fast.packed = None
        fast.backends = ()
        fast.norm_rope_fn = norm_rope
        fast.verdicts = verdicts
        return fast

    @torch.no_grad()
    def pack(self) -> None:
        """Concatenate q|k|v (self) or k|v (cross) into one linear; the separate layers become views of it."""
        if self.packed is not None:
            return
        parts = [self.to_q, self.to_k, self.to_v] if self.packed_kind == "qkv" else [self.to_k, self.to_v]
        weight = torch.cat([p.weight for p in parts])  # (n*inner, in)
        bias = torch.cat([p.bias for p in parts])  # (n*inner,)
        packed = nn.Linear(weight.shape[1], weight.shape[0], device="meta")
        packed.weight, packed.bias = nn.Parameter(weight, requires_grad=False), nn.Parameter(bias, requires_grad=False)
        inner = self.heads * self.head_dim
        for i, p in enumerate(parts):  # keep the checkpoint keys, now sharing the packed storage
            p.weight = nn.Parameter(weight[i * inner:(i + 1) * inner], requires_grad=False)
            p.bias = nn.Parameter(bias[i * inner:(i + 1) * inner], requires_grad=False)
        self.packed = packed

    def project(self, x: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q (B, T, H*d), k and v (B, S, H*d), through the packed linear when there is one."""
        if self.packed is None:
            return super().project(x, context)
        inner = self.heads * self.head_dim
        if self.packed_kind == "qkv":
            q, k, v = self.packed(x).split(inner, dim=-1)  # (B, T, 3*H*d) -> 3 x (B, T, H*d)
            return q, k, v
        k, v = self.packed(context).split(inner, dim=-1)  # (B, S, 2*H*d) -> 2 x (B, S, H*d)
        return self.to_q(x), k, v

    def normalise(self, z: Tensor, weight: Tensor, rope: Rope | None) -> Tensor:
        """RMSNorm + RoPE through `norm_rope_fn`: (B, T, H*d) -> (B, T, H*d)."""
        return self.norm_rope_fn(z, weight, self.eps, rope)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """Scaled dot-product attention over (B, H, T, d) heads, preferring `backends` on CUDA."""
        if not (self.backends and q.is_cuda):
            return super().attend(q, k, v, mask)
        backends = list(self.backends)
        if torch.compiler.is_compiling():  # chosen while tracing: left to itself, a compiled graph took flash
            with sdpa_kernel(backends, set_priority=True):
                return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, d)
        if backends[0] is SDPBackend.CUDNN_ATTENTION:  # a priority list alone did not make torch 2.11 pick cuDNN
            if not cudnn_accepts(q, k, v, mask, self.verdicts):
                q, k, v = q.contiguous(), k.contiguous(), v.contiguous()  # cuDNN's own (B, H, T, d) layout
            accepted = cudnn_accepts(q, k, v, mask, self.verdicts)
            backends = backends[:1] if accepted else backends[1:] or [SDPBackend.MATH]
        with sdpa_kernel(backends, set_priority=True):
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, d)


def cudnn_accepts(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, verdicts: CudnnVerdicts) -> bool:
    """Whether PyTorch would run cuDNN attention on these tensors as laid out (memoised in `verdicts`)."""
    key = tuple((z.shape, z.stride(), z.dtype) for z in (q, k, v)) + (None if mask is None else
                                                                         (mask.shape, mask.stride()),)
    if key not in verdicts:
        params = torch.backends.cuda.SDPAParams(q, k, v, mask, 0.0, False, False)
        with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):  # the check also reads the global enable flag
            verdicts[key] = torch.backends.cuda.can_use_cudnn_attention(params, False)
    return verdicts[key]
