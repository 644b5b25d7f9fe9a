"""accelerate(): rewrite a loaded LTXTransformer for inference speed, in place, through module replacement.

Each `Attention`, `FeedForward` and `AVBlock` is replaced by its accelerated subclass (same parameters, same
checkpoint keys), then configured: cuDNN attention first, packed q|k|v and k|v projections, and on CUDA either each
block compiled as one Inductor graph (elementwise work fused across ops, far fewer kernel launches; offloaded
blocks too) or, with `compile_blocks` off, the elementwise ops compiled one by one; FP8 swaps the video-token
linears for `Fp8Linear`; block offloading streams block weights from host memory through forward hooks. The
compiled functions, the cuDNN layout memo and the offloader belong to the returned `Acceleration`, which
`close()` releases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.attention import SDPBackend

from ltxflow.engine.accel.attention import CudnnVerdicts, FastAttention
from ltxflow.engine.accel.blocks import (
    EAGER_OPS,
    BlockForward,
    BlockOps,
    FastBlock,
    FastFeedForward,
    allow_recompiles,
    compiled_block_forward,
    compiled_ops,
)
from ltxflow.engine.accel.fp8 import Quantize, quantize_rows, scaled_mm_takes_bias, to_fp8
from ltxflow.engine.accel.offload import BlockOffloader
from ltxflow.engine.accel.options import BACKENDS, SpeedOptions
from ltxflow.engine.transformer.attention import Attention
from ltxflow.engine.transformer.block import AVBlock, FeedForward
from ltxflow.engine.transformer.model import LTXTransformer


@dataclass(eq=False)
class Acceleration:
    """What `accelerate` set up for one model: its options, compiled functions, caches and block offloader."""

    options: SpeedOptions
    device: torch.device
    ops: BlockOps = EAGER_OPS  # elementwise functions of every block (compiled ones when compiled separately)
    graph: BlockForward | None = None  # the compiled block forward shared by every block, or None
    offloader: BlockOffloader | None = None
    verdicts: CudnnVerdicts = field(default_factory=dict)  # cuDNN's answers per attention layout

    def close(self) -> None:
        """Remove the offloading hooks and drop the caches (the model stays usable, its weights where they are)."""
        if self.offloader is not None:
            self.offloader.close()
        self.verdicts.clear()


def _adopt_children(block: AVBlock, verdicts: CudnnVerdicts) -> None:
    """Replace the block's attentions and feed-forwards by their accelerated subclasses."""
    for name, child in list(block.named_children()):
        if isinstance(child, Attention):
            setattr(block, name, FastAttention.adopt(child, name.endswith("attn1"), verdicts))
        elif isinstance(child, FeedForward):
            setattr(block, name, FastFeedForward.adopt(child))


@torch.no_grad()
def accelerate(model: LTXTransformer, options: SpeedOptions = SpeedOptions(),
               device: torch.device | str | None = None) -> Acceleration:
    """Apply `options` to a loaded model in place and place it on `device` (default: where its weights are).

    Blocks are prepared one at a time on the device, so with `offload_blocks` a model loaded in host memory never
    needs more than one block of device memory to get ready. Applying other options later re-configures the same
    modules (an offloaded model cannot be prepared again)."""
    blocks = model.transformer_blocks
    if any(isinstance(b, FastBlock) and b.offloaded for b in blocks):
        raise ValueError("accelerate: this model's blocks are already offloaded; prepare a model once")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    on_cuda = device.type == "cuda"
    # Offloaded blocks run the same whole-block graph as resident ones: their weights are re-pointed as parameters
    # of unchanged shape, stride and dtype, which the graph's guards accept, so both compute one function (issue 24:
    # on the separately compiled ops instead, offloaded FP8 was 7.3% L2 from resident FP8 on the random 22B)
    whole = options.compile_blocks and on_cuda  # the block's own graph fuses all
    separately = options.compile and on_cuda and not whole  # each elementwise op compiled on its own
    acc = Acceleration(options, device, ops=compiled_ops() if separately else EAGER_OPS)
    if whole:
        allow_recompiles()
        acc.graph = compiled_block_forward()
    quantize: Quantize = quantize_rows
    if options.fp8 and separately:
        quantize = torch.compile(quantize_rows, dynamic=True)  # one fused pass instead of four
    fused_bias = options.fp8 and on_cuda and scaled_mm_takes_bias(device)
    backends = tuple(BACKENDS[name] for name in options.attention)
    if options.offload_blocks:
        acc.offloader = BlockOffloader(device)
    for i, plain in enumerate(list(blocks)):
        plain.to(device)
        block = FastBlock.adopt(plain)
        blocks[i] = block  # module replacement: the same parameters under the same keys
        _adopt_children(block, acc.verdicts)
        _configure(block, options, acc, backends)
        if options.fp8:
            to_fp8(block, quantize, fused_bias)
        if acc.offloader is not None:
            acc.offloader.add(block)  # its weights go back to (pinned) host memory
            block.offloaded = True
    for child in model.children():
        if child is not blocks:
            child.to(device)
    for name, p in list(model.named_parameters(recurse=False)):  # the output heads' tables
        if p.device != device:
            setattr(model, name, nn.Parameter(p.to(device), requires_grad=False))
    return acc


def _configure(block: FastBlock, options: SpeedOptions, acc: Acceleration,
               backends: tuple[SDPBackend, ...]) -> None:
    """Backends, packed projections, compiled ops and the block graph for one block (on its device)."""
    block.ops, block.graph, block.offloaded = acc.ops, acc.graph, False
    for module in block.children():
        if isinstance(module, FastAttention):
            module.backends, module.norm_rope_fn = backends, acc.ops.norm_rope
            if options.fuse_projections:
                module.pack()
        elif isinstance(module, FastFeedForward):
            module.ops = acc.ops
