"""GraphedForward: a model forward captured once as a CUDA graph and replayed (the benchmarks' "+ CUDA graph" rows).

Only the benchmarks use it; the engine does not replay graphs.
"""

from __future__ import annotations

import torch


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
