"""Block offloading: each transformer block's weights live in host memory and stream onto the GPU one block ahead
of the computation, so a model larger than the GPU's memory runs within a small budget.

Only the blocks move; the patchify layers, AdaLN MLPs and output heads (<1% of the weights) stay on the device. With
one block of prefetch at most two blocks are resident at a time. A block's storages are packed into one flat
buffer (tensors that share a storage, like a packed q|k|v and the views that keep the checkpoint names, stay shared:
nothing is copied twice), so each block moves as one copy into one allocation. On CUDA the host buffers are pinned
and the copies run on their own stream, overlapping the previous block's kernels; elsewhere the same bookkeeping
runs synchronously (which is how the CPU tests exercise it).
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class _Slot:
    """Where one parameter or buffer of a block lives and how to rebuild it as a view of its storage."""

    module: nn.Module
    name: str
    parameter: bool  # a parameter (kept an nn.Parameter when re-pointed), else a buffer
    offset: int  # in elements of `dtype`, from the start of the block's flat buffer
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype


ALIGN = 256  # bytes; every storage starts aligned in the flat buffer (a multiple of every element size)


@dataclass
class _Resident:
    """One block's flat buffer on the device, and the copy-stream event after which it is complete."""

    flat: Tensor  # uint8
    ready: torch.cuda.Event | None


def block_tensors(block: nn.Module) -> Iterator[tuple[nn.Module, str, bool, Tensor]]:
    """(module, name, is_parameter, tensor) for every tensor a block's forward reads (packed projections too)."""
    for module in block.modules():
        for name, p in module.named_parameters(recurse=False):
            yield module, name, True, p
        for name, b in module.named_buffers(recurse=False):
            yield module, name, False, b


def _view(flat: Tensor, slot: _Slot) -> Tensor:
    """The tensor `slot` describes, as a view of the uint8 buffer `flat`."""
    return torch.empty(0, dtype=slot.dtype, device=flat.device).set_(
        flat.untyped_storage(), slot.offset, slot.shape, slot.stride)


def _host_buffer(size: int, pin: bool, registered: list[int]) -> Tensor:
    """`size` bytes of host memory, page-locked if `pin` (registered in place: PyTorch's pinned allocator rounds each
    buffer up to a power of two, which for ~0.5-1 GB blocks could nearly double the host memory used)."""
    flat = torch.empty(size, dtype=torch.uint8)
    if not pin:
        return flat
    try:
        torch.cuda.check_error(torch.cuda.cudart().cudaHostRegister(flat.data_ptr(), size, 0))
    except torch.cuda.CudaError as err:  # the driver refused to page-lock it (e.g. a locked-memory limit)
        warnings.warn(f"block offloading: cudaHostRegister failed ({err}); using PyTorch's pinned allocator, which "
                      "rounds each block's buffer up to a power of two", RuntimeWarning, stacklevel=2)
        return flat.pin_memory()
    registered.append(flat.data_ptr())
    return flat


def _unregister(pointers: list[int]) -> None:
    """Release the page locks `_host_buffer` took (when the offloader is collected)."""
    for pointer in pointers:
        torch.cuda.cudart().cudaHostUnregister(pointer)


class BlockOffloader:
    """Owns the host copies of a model's blocks and moves each onto `device` around its forward (via module hooks).

    `accelerate` builds one when `SpeedOptions.offload_blocks` is set; `close()` removes the hooks (the weights stay
    in host memory).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.stream = torch.cuda.Stream(device) if self.cuda else None
        self.slots: list[list[_Slot]] = []
        self.host: list[Tensor] = []  # per block: its flat uint8 host buffer (pinned on CUDA)
        self.resident: dict[int, _Resident] = {}
        self.hooks: list = []
        self._registered: list[int] = []  # host pointers page-locked with cudaHostRegister
        weakref.finalize(self, _unregister, self._registered)

    def add(self, block: nn.Module) -> None:
        """Take the next block (blocks run in the order they were added): its weights move to host memory now."""
        index = len(self.host)
        self._take(block)
        self.hooks.append(block.register_forward_pre_hook(lambda _m, _a: self._before(index)))
        self.hooks.append(block.register_forward_hook(lambda _m, _a, _o: self._after(index)))

    @property
    def pinned(self) -> bool:
        """Whether every host buffer is page-locked (asynchronous copies)."""
        return all(flat.is_pinned() for flat in self.host)

    @property
    def host_bytes(self) -> int:
        """Bytes of block weights kept in host memory."""
        return sum(flat.numel() for flat in self.host)

    @torch.no_grad()
    def _take(self, block: nn.Module) -> None:
        """Copy the block's storages into one flat host buffer and point its tensors at it."""
        tensors = list(block_tensors(block))
        starts: dict[tuple[torch.device, int], int] = {}  # storage -> byte offset in the flat buffer
        sources: list[tuple[int, Tensor]] = []
        size = 0
        for *_, t in tensors:
            key = (t.device, t.untyped_storage().data_ptr())
            if key not in starts:
                starts[key] = size
                sources.append((size, torch.empty(0, dtype=torch.uint8, device=t.device).set_(t.untyped_storage())))
                size += -(-t.untyped_storage().nbytes() // ALIGN) * ALIGN
        flat = _host_buffer(size, self.cuda, self._registered)
        for start, src in sources:
            flat[start:start + src.numel()].copy_(src)
        self.slots.append([
            _Slot(module, name, parameter, (starts[(t.device, t.untyped_storage().data_ptr())]) // t.element_size()
                  + t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
            for module, name, parameter, t in tensors])
        self.host.append(flat)
        self._point(len(self.host) - 1, flat)

    def _point(self, index: int, flat: Tensor) -> None:
        """Make block `index`'s parameters and buffers views of `flat` (its host or device buffer)."""
        for slot in self.slots[index]:
            view = _view(flat, slot)
            # parameters stay nn.Parameter: torch.compile gives them static shapes, so the compiled ops keep the
            # kernels of the resident model (plain tensors get dynamic shapes and other, differently rounding kernels)
            setattr(slot.module, slot.name, nn.Parameter(view, requires_grad=False) if slot.parameter else view)

    def _load(self, index: int) -> None:
        """Start copying block `index` to the device (on the copy stream on CUDA)."""
        if index in self.resident:
            return
        context = torch.cuda.stream(self.stream) if self.cuda else contextlib.nullcontext()
        with context:
            flat = self.host[index].to(self.device, non_blocking=True, copy=True)
            ready = self.stream.record_event() if self.cuda else None
        self.resident[index] = _Resident(flat, ready)

    def _before(self, index: int) -> None:
        """Pre-hook: wait for this block's weights, point the block at them and prefetch the next block."""
        for other in [i for i in self.resident if i not in (index, (index + 1) % len(self.host))]:
            self._after(other)  # left over from an interrupted forward
        self._load(index)
        resident = self.resident[index]
        if self.cuda:
            compute = torch.cuda.current_stream(self.device)
            compute.wait_event(resident.ready)
            resident.flat.record_stream(compute)  # its memory is reused only after the kernels that read it
        self._point(index, resident.flat)
        self._load((index + 1) % len(self.host))  # next block (the first one again after the last)

    def _after(self, index: int) -> None:
        """Post-hook: point the block back at its host copies; the device copies are freed."""
        self._point(index, self.host[index])
        self.resident.pop(index, None)

    def close(self) -> None:
        """Remove the hooks and drop any device copies."""
        for hook in self.hooks:
            hook.remove()
        for index in list(self.resident):
            self._after(index)

