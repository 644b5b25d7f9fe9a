"""Inference speed settings for LTXTransformer, applied in place after the weights are loaded and on their device.

Defaults are the optimisations that compute the same function (results differ from the plain path only by
rounding): cuDNN attention first, packed q|k|v and k|v projections, and (on CUDA) each block compiled as one
Inductor graph (elementwise work fused across ops, far fewer kernel launches); offloaded blocks use the separately
compiled elementwise ops instead.
FP8 linear layers change the function (quantisation) and are opt-in; so is block offloading (same function, but
bounded by host-to-device bandwidth), which lets a model larger than the GPU run: with FP8 the 22B model at 1080p
fits a 24 GB card.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.attention import SDPBackend

from ltxflow.engine.transformer.attention import Attention
from ltxflow.engine.transformer.block import AVBlock, FeedForward
from ltxflow.engine.transformer.fp8 import Fp8Linear, quantize_rows
from ltxflow.engine.transformer.offload import BlockOffloader
from ltxflow.engine.transformer.ops import EAGER_OPS, BlockOps, allow_recompiles, compiled_ops

BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}


@dataclass(frozen=True)
class SpeedOptions:
    """Which inference optimisations `prepare_for_speed_` applies."""

    attention: tuple[str, ...] = ("cudnn", "flash", "efficient", "math")  # SDPA backends, best first; () = torch's
    fuse_projections: bool = True  # one GEMM for self-attention q|k|v and for cross-attention k|v
    compile: bool = True  # torch.compile the elementwise ops (CUDA only; ignored on CPU)
    compile_blocks: bool = True  # torch.compile each whole block instead (fuses across ops; CUDA, not offloaded)
    fp8: bool = False  # row-wise FP8 for the video-token linear layers of every block (approximate)
    offload_blocks: bool = False  # block weights in host memory, streamed to the GPU one block ahead (CUDA)

    def __post_init__(self) -> None:
        unknown = [name for name in self.attention if name not in BACKENDS]
        if unknown:
            raise ValueError(f"SpeedOptions.attention: unknown backend(s) {unknown}; choose from {sorted(BACKENDS)}")


# the reference-identical path
PLAIN = SpeedOptions(attention=(), fuse_projections=False, compile=False, compile_blocks=False)


@torch.no_grad()
def prepare_for_speed_(model: nn.Module, options: SpeedOptions = SpeedOptions(),
                       device: torch.device | str | None = None) -> nn.Module:
    """Apply `options` to a loaded LTXTransformer in place (call once) and place it on `device` (default: where its
    weights are). Blocks are prepared one at a time on the device, so with `offload_blocks` a model loaded in host
    memory never needs more than one block of device memory to get ready."""
    if getattr(model, "offloader", None) is not None:
        raise ValueError("prepare_for_speed_: this model's blocks are already offloaded; prepare a model once")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    on_cuda = device.type == "cuda"
    backends = tuple(BACKENDS[name] for name in options.attention)
    whole = options.compile_blocks and on_cuda and not options.offload_blocks  # the block's own graph fuses all
    separately = options.compile and on_cuda and not whole  # each elementwise op compiled on its own
    ops = EAGER_OPS if whole else compiled_ops() if separately else None
    quantize = None if not options.fp8 else _compiled_quantize() if separately else quantize_rows
    if whole:
        allow_recompiles()
    offloader = BlockOffloader(device) if options.offload_blocks else None
    for block in model.transformer_blocks:
        block.to(device)
        _prepare_block(block, options, backends, ops, quantize)
        if whole:
            block.compile(dynamic=False, options={"emulate_precision_casts": True})
        elif getattr(block, "_compiled_call_impl", None) is not None:
            block._compiled_call_impl = None  # prepared again without compile_blocks: back to the eager block
        if offloader is not None:
            offloader.add(block)  # its weights go back to (pinned) host memory
    blocks = model.transformer_blocks
    for child in model.children():
        if child is not blocks:
            child.to(device)
    for name, p in list(model._parameters.items()):
        if p.device != device:
            model._parameters[name] = nn.Parameter(p.to(device), requires_grad=False)
    if offloader is not None:
        model.offloader = offloader
    return model


def _prepare_block(block: AVBlock, options: SpeedOptions, backends: tuple[SDPBackend, ...], ops: BlockOps | None,
                   quantize) -> None:
    """Attention backends, packed projections, compiled ops and FP8 for one block (on its device)."""
    for name, module in block.named_modules():
        if isinstance(module, Attention):
            module.backends = backends
            if options.fuse_projections and module.packed is None:
                _pack(module, self_attn=name.endswith("attn1"))
        if ops is not None and isinstance(module, Attention | AVBlock | FeedForward):
            module.ops = ops
    if quantize is not None:
        _to_fp8(block, quantize)


@functools.cache
def _compiled_quantize():
    """`quantize_rows` through torch.compile (one fused pass instead of four), shared by every model."""
    return torch.compile(quantize_rows, dynamic=True)


def _pack(attn: Attention, self_attn: bool) -> None:
    """Concatenate q|k|v (self) or k|v (cross) into one linear; the separate layers become views of it."""
    parts = [attn.to_q, attn.to_k, attn.to_v] if self_attn else [attn.to_k, attn.to_v]
    weight = torch.cat([p.weight for p in parts])  # (n*inner, in)
    bias = torch.cat([p.bias for p in parts])  # (n*inner,)
    packed = nn.Linear(weight.shape[1], weight.shape[0], device="meta")
    packed.weight, packed.bias = nn.Parameter(weight, requires_grad=False), nn.Parameter(bias, requires_grad=False)
    inner = attn.heads * attn.head_dim
    for i, p in enumerate(parts):  # keep the checkpoint keys, now sharing the packed storage
        p.weight = nn.Parameter(weight[i * inner:(i + 1) * inner], requires_grad=False)
        p.bias = nn.Parameter(bias[i * inner:(i + 1) * inner], requires_grad=False)
    attn.packed = ("qkv" if self_attn else "kv", packed)


def _to_fp8(block: AVBlock, quantize) -> None:
    """FP8 for the linear layers that run over video tokens (the audio stream is too small to gain); idempotent.

    The bf16 projections a packed FP8 linear replaces are dropped, so their storage is freed (v of a packed q|k|v
    stays, in FP8: STG's value bypass calls it)."""
    fp8 = lambda layer: layer if isinstance(layer, Fp8Linear) else Fp8Linear.from_linear(layer, quantize)  # noqa: E731
    for attn in (block.attn1, block.attn2, block.audio_to_video_attn):
        if attn.packed is None or attn.packed[0] != "qkv":  # a packed q|k|v never calls to_q
            attn.to_q = fp8(attn.to_q)
        attn.to_out[0] = fp8(attn.to_out[0])
    for attn in (block.attn1, block.attn2, block.video_to_audio_attn):  # packed k|v of these read video tokens
        if attn.packed is not None:
            attn.packed = (attn.packed[0], fp8(attn.packed[1]))
            if attn.packed[0] == "qkv":
                attn.to_q = attn.to_k = None
                attn.to_v = fp8(attn.to_v)
            else:
                attn.to_k = attn.to_v = None
    block.ff.net[0].proj = fp8(block.ff.net[0].proj)
    block.ff.net[2] = fp8(block.ff.net[2])


class GraphedForward:
    """A model forward captured once as a CUDA graph for fixed input shapes; later calls copy inputs and replay.

    Removes the per-kernel launch cost (thousands of launches per forward), which dominates when the GPU work per
    forward is small. The returned tensors are the graph's own buffers: overwritten by the next call.
    """

    def __init__(self, fn, *example_inputs, warmup: int = 2) -> None:
        self.fn = fn
        self.static = [_clone_tree(x) for x in example_inputs]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(warmup):  # compile, autotune and allocate outside the capture
                fn(*self.static)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = fn(*self.static)

    def __call__(self, *inputs):
        """Copy `inputs` (same structure and shapes as the example) into the graph's buffers and replay it."""
        for dst, src in zip(self.static, inputs, strict=True):
            _copy_tree(dst, src)
        self.graph.replay()
        return self.out


def _clone_tree(x):
    """Deep copy of the tensors in a (frozen) dataclass / sequence / tensor."""
    if isinstance(x, torch.Tensor):
        return x.clone()
    if isinstance(x, list | tuple):
        return type(x)(_clone_tree(v) for v in x)
    if hasattr(x, "__dataclass_fields__"):
        return type(x)(**{k: _clone_tree(getattr(x, k)) for k in x.__dataclass_fields__})
    return x


def _copy_tree(dst, src) -> None:
    """Copy the tensors of `src` into the matching tensors of `dst` (same structure)."""
    if isinstance(dst, torch.Tensor):
        dst.copy_(src)
    elif isinstance(dst, list | tuple):
        for d, s in zip(dst, src, strict=True):
            _copy_tree(d, s)
    elif hasattr(dst, "__dataclass_fields__"):
        for k in dst.__dataclass_fields__:
            _copy_tree(getattr(dst, k), getattr(src, k))
