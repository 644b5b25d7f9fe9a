"""Fusing LoRAs into a resident transformer, and restoring its clean weights exactly when the set changes.

The reference's semantics (ltx-core `apply_loras`): for every adapted weight W (out, in),

    W' = W + sum_i cast(B_i * strength_i @ A_i)

no alpha/rank scaling; each product runs in the LoRA's own dtype on W's device and is rounded to W's dtype, the
products are summed (stacked, in list order) and added in W's dtype. We run the same operations in the same order,
so a fused weight equals the reference's bit for bit.

Unfusing never subtracts (that would not round back to W): the first time a weight is adapted its clean value is
copied to host memory, once, and every later change of the LoRA set first copies the clean values back. The host
copies cost the bytes of every weight any LoRA ever touched (a LoRA on every linear layer of the 19B model: ~38 GB
in bf16); nothing is reloaded from disk.

Acceleration (ltxflow.engine.accel) and LoRAs: packed q|k|v projections keep `to_q` / `to_k` / `to_v` as views of
the packed weight, so fusing in place updates both; compiled blocks and CUDA graphs read the same storages, so
they see the new values without recompiling. FP8 layers hold no bf16 weight to fuse into: a LoRA is fused before
FP8 quantisation (fuse, then prepare), and a model already quantised refuses LoRAs with a one-line error. Offloaded
blocks keep their weights in host memory between forwards: each adapted weight is copied to the offloader's device,
fused there (the same kernels as a resident model, so the same bits), and copied back into the host buffer the
block streams from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ltxflow.engine.lora.file import LoraError, WeightedLora

if TYPE_CHECKING:
    from ltxflow.engine.accel import BlockOffloader


def lora_delta(factors: Sequence[tuple[Tensor, Tensor, float]], dtype: torch.dtype,
               device: torch.device) -> Tensor:  # fmt: skip
    """sum_i strength_i * B_i @ A_i for one weight: (out, in) in `dtype` on `device` (reference order and rounding).

    factors: (A (rank, in), B (out, rank), strength) per LoRA, in set order.
    """
    deltas = []
    for a, b, strength in factors:
        a, b = a.to(device), b.to(device)
        deltas.append(torch.matmul(b * strength, a).to(dtype))  # (out, in), the product in the LoRA's dtype
    if len(deltas) == 1:
        return deltas[0]
    return torch.stack(deltas, dim=0).sum(dim=0)  # (out, in)


def _module(model: nn.Module, name: str) -> nn.Module | None:
    """The submodule called `name`, or None (a missing name, or a projection an FP8 packing dropped)."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None


def _same(a: Sequence[WeightedLora], b: Sequence[WeightedLora]) -> bool:
    """The same loaded LoRAs (identity) at the same strengths, in the same order."""
    return len(a) == len(b) and all(x.lora is y.lora and x.strength == y.strength for x, y in zip(a, b))


class LoraFuser:
    """A model's LoRA state: which set is fused now, and host copies of the clean value of every weight touched."""

    def __init__(self, model: nn.Module, offloader: BlockOffloader | None = None) -> None:
        self.model = model
        self.offloader = offloader  # the model's block offloader, when its blocks stream from host memory
        self.clean: dict[str, Tensor] = {}  # module name -> its clean weight (out, in), host memory, taken once
        self.fused: list[str] = []  # modules whose weight holds a delta now
        self.active: tuple[WeightedLora, ...] = ()

    @property
    def host_bytes(self) -> int:
        """Host bytes of the clean copies."""
        return sum(t.nbytes for t in self.clean.values())

    def weight(self, module: str) -> Tensor:
        """The live weight tensor of `module` (looked up each time: offloading re-points parameters)."""
        return self.model.get_submodule(module).weight

    def check(self, loras: Sequence[WeightedLora]) -> None:
        """Every pair of every LoRA fits a linear weight of the model; a LoraError names the file and key if not."""
        for item in loras:
            path = item.lora.path
            for module, pair in item.lora.file.pairs.items():
                target = _module(self.model, module)
                if target is None:
                    raise LoraError(f"{path}: key {pair.key_a!r} matches no module of the model (no {module}); "
                                    "a LoRA for another model?")  # fmt: skip
                weight = getattr(target, "weight", None)
                if not isinstance(weight, Tensor) or weight.ndim != 2:
                    if hasattr(target, "weight_fp8"):
                        raise LoraError(f"{path}: key {pair.key_a!r}: {module} is FP8-quantised; LoRAs are fused "
                                        "before FP8 quantisation (load the model plain, fuse, then prepare it)")
                    raise LoraError(f"{path}: key {pair.key_a!r}: {module} has no weight matrix to adapt")
                if tuple(weight.shape) != pair.shape:
                    raise LoraError(f"{path}: key {pair.key_b!r}: made for another model version: it adapts "
                                    f"{module} as {list(pair.shape)} but the model's weight is "
                                    f"{list(weight.shape)}")  # fmt: skip
        _refuse_shared_weights(self.model, loras)

    @torch.inference_mode()  # offloaded blocks' host views made during a forward are inference tensors
    def use(self, loras: Sequence[WeightedLora]) -> None:
        """Make `loras` the fused set: the clean weights come back first, then the new deltas go in.

        Everything is checked before any weight changes, so a bad LoRA leaves the model as it was; an error while
        fusing restores the clean weights before it propagates.
        """
        loras = tuple(item for item in loras if item.strength != 0.0)  # a zero strength adds nothing
        if _same(loras, self.active):
            return
        self.check(loras)
        self.restore()
        modules = sorted({m for item in loras for m in item.lora.factors})
        offloader = self.offloader
        try:
            for module in modules:  # every clean copy before any weight changes
                if module not in self.clean:
                    self.clean[module] = self.weight(module).detach().to("cpu", copy=True)
            for module in modules:
                factors = [(*item.lora.factors[module], item.strength) for item in loras if module in item.lora.factors]
                self._fuse(module, factors, offloader.device if offloader is not None else None)
        except BaseException:
            self.restore()
            raise
        finally:
            if offloader is not None:
                _drop_streamed(offloader)
        self.active = loras

    def _fuse(self, module: str, factors: list[tuple[Tensor, Tensor, float]], device: torch.device | None) -> None:
        """W += delta in W's dtype, computed on `device` (default: W's own)."""
        weight = self.weight(module)  # (out, in)
        device = device if device is not None else weight.device
        delta = lora_delta(factors, weight.dtype, device)  # (out, in)
        self.fused.append(module)
        if weight.device == device:
            weight.add_(delta)
        else:  # an offloaded block's host weight: add where the delta was made, then write back
            weight.copy_(weight.to(device).add_(delta))

    @torch.inference_mode()  # offloaded blocks' host views made during a forward are inference tensors
    def restore(self) -> None:
        """Copy the clean value back into every fused weight (bit for bit); the set becomes empty."""
        while self.fused:
            module = self.fused.pop()
            self.weight(module).copy_(self.clean[module])
        self.active = ()
        if self.offloader is not None:
            _drop_streamed(self.offloader)


def _refuse_shared_weights(model: nn.Module, loras: Sequence[WeightedLora]) -> None:
    """Two adapted modules whose weights share memory (a packed q|k|v and its to_q view, say) would each add their
    delta into the same numbers: refused. LoRAs name the checkpoint's modules, which never overlap."""
    spans = []  # (storage, first byte, end byte, module, file), one per adapted module
    for module, path in {m: item.lora.path for item in loras for m in item.lora.factors}.items():
        w = model.get_submodule(module).weight
        start = w.storage_offset() * w.element_size()
        spans.append((w.untyped_storage().data_ptr(), start, start + w.numel() * w.element_size(), module, path))
    spans.sort()
    reach: tuple[int, int, str, object] | None = None  # (storage, furthest end so far, its module, its file)
    for storage, start, end, module, path in spans:
        if reach is not None and reach[0] == storage and start < reach[1]:
            raise LoraError(f"{path}: {module} shares its weight with {reach[2]} (adapted by {reach[3]}); LoRAs "
                            "adapt the checkpoint's modules, not the packed projections acceleration adds")
        if reach is None or reach[0] != storage or end > reach[1]:
            reach = (storage, end, module, path)


def _drop_streamed(offloader: BlockOffloader) -> None:
    """Forget device copies of offloaded blocks made before their host weights changed (after every forward the
    offloader prefetches the first block for the next one; that copy would still hold the old weights)."""
    for index in list(offloader.resident):
        offloader._after(index)  # points the block back at its host buffer and frees the device copy
