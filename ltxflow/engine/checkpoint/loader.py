"""Strict loading: build a component on the meta device, check every key and shape, then assign the weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import torch
from torch import nn

from ltxflow.engine.checkpoint.components import Builder, Component, component_spec
from ltxflow.engine.checkpoint.errors import CheckpointError
from ltxflow.engine.checkpoint.keys import route
from ltxflow.engine.checkpoint.safetensors_file import TensorEntry, open_tensors, read_config, read_header

KNOWN_SECTIONS = ("transformer", "vae", "audio_vae", "vocoder")  # what an LTX-2 `config` holds
M = TypeVar("M", bound=nn.Module)


def check_version(path: Path, model_version: str | None, config: dict[str, Any]) -> None:
    """Accept LTX-2 family files only: model_version "2.x", or no version but a recognisable config."""
    if model_version is not None:
        if not model_version.startswith("2."):
            raise CheckpointError(
                f"{path} has model_version {model_version!r}; ltxflow loads LTX-2 checkpoints (2.x) only"
            )
        return
    if not any(isinstance(config.get(name), dict) for name in KNOWN_SECTIONS):
        raise CheckpointError(
            f"{path} has no model_version and its config has none of the LTX-2 sections {', '.join(KNOWN_SECTIONS)}"
        )


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """An opened checkpoint: its config, version and the routed key table, read from the header alone."""

    path: Path
    file_size: int  # bytes
    config: dict[str, Any]  # the `config` metadata
    model_version: str | None
    keys: dict[str, dict[str, str]]  # component -> our key -> file key
    tensors: dict[str, TensorEntry]  # file key -> header record

    @classmethod
    def open(cls, path: str | Path) -> Checkpoint:
        """Read the header, check the version and route every key (no tensor data is read)."""
        header = read_header(path)
        config = read_config(header)
        version = header.metadata.get("model_version")
        check_version(header.path, version, config)
        try:
            keys = route(header.tensors)
        except CheckpointError as err:
            raise CheckpointError(f"{header.path}: {err}") from None
        return cls(header.path, header.file_size, config, version, keys, header.tensors)

    @property
    def components(self) -> tuple[str, ...]:
        """Components with weights in this file."""
        return tuple(self.keys)

    @overload
    def load(self, component: Component[M], build: None = None, dtype: torch.dtype | None = None,
             device: torch.device | str = "cpu") -> M: ...

    @overload
    def load(self, component: str, build: Builder[M], dtype: torch.dtype | None = None,
             device: torch.device | str = "cpu") -> M: ...

    @overload
    def load(self, component: str, build: None = None, dtype: torch.dtype | None = None,
             device: torch.device | str = "cpu") -> nn.Module: ...

    def load(self, component: Component[M] | str, build: Builder[M] | None = None, dtype: torch.dtype | None = None,
             device: torch.device | str = "cpu") -> nn.Module:
        """Load one component strictly (see `load_component`)."""
        return load_component(self, component, build, dtype, device)


def _preview(items: list[str], limit: int = 3) -> str:
    """First few items and the count."""
    shown = ", ".join(items[:limit])
    return f"{len(items)} ({shown}{', ...' if len(items) > limit else ''})"


def _check_against(ckpt: Checkpoint, component: str, module: nn.Module) -> None:
    """One error naming missing keys, unexpected keys and shape mismatches, if there are any."""
    expected = {name: tuple(t.shape) for name, t in module.state_dict(keep_vars=True).items()}
    routed = ckpt.keys[component]
    missing = sorted(set(expected) - set(routed))
    unexpected = sorted(f"{routed[k]}" for k in set(routed) - set(expected))
    wrong = sorted(
        f"{routed[k]} {list(ckpt.tensors[routed[k]].shape)} vs model {list(shape)}"
        for k, shape in expected.items()
        if k in routed and ckpt.tensors[routed[k]].shape != shape
    )
    problems = [
        f"{label} {_preview(items)}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
        if items
    ]
    if problems:
        raise CheckpointError(f"{ckpt.path}: {component} does not match the checkpoint: {'; '.join(problems)}")


@overload
def load_component(path: str | Path | Checkpoint, component: Component[M], build: None = None,
                   dtype: torch.dtype | None = None, device: torch.device | str = "cpu") -> M: ...


@overload
def load_component(path: str | Path | Checkpoint, component: str, build: Builder[M],
                   dtype: torch.dtype | None = None, device: torch.device | str = "cpu") -> M: ...


@overload
def load_component(path: str | Path | Checkpoint, component: str, build: None = None,
                   dtype: torch.dtype | None = None, device: torch.device | str = "cpu") -> nn.Module: ...


def load_component(
    path: str | Path | Checkpoint,
    component: Component[M] | str,
    build: Builder[M] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str = "cpu",
) -> nn.Module:
    """Build `component` on meta from the checkpoint config, verify keys/shapes, load strictly into `dtype`/`device`.

    `component` is a registered Component (its builder's type is the result's) or a registered name; `build`
    replaces the registered builder (tests load the reference's modules this way)."""
    ckpt = path if isinstance(path, Checkpoint) else Checkpoint.open(path)
    spec = component if isinstance(component, Component) else component_spec(component)
    component = spec.name
    if component not in ckpt.keys:
        present = ", ".join(ckpt.components) or "none"
        raise CheckpointError(f"{ckpt.path} has no {component} weights (components present: {present})")
    if not isinstance(ckpt.config.get(spec.section), dict):
        raise CheckpointError(f"{ckpt.path}: config metadata has no {spec.section!r} section for {component}")
    builder = build if build is not None else spec.build
    with torch.device("meta"):
        module = builder(ckpt.config)
    _check_against(ckpt, component, module)
    state: dict[str, torch.Tensor] = {}
    with open_tensors(ckpt.path) as f:
        for ours, file_key in ckpt.keys[component].items():
            tensor = f.get_tensor(file_key)
            if dtype is not None and tensor.is_floating_point():
                tensor = tensor.to(dtype)
            state[ours] = tensor.to(device)
    module.load_state_dict(state, strict=True, assign=True)
    left_on_meta = [name for name, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
    if left_on_meta:
        raise CheckpointError(
            f"{component} builder left tensors the checkpoint cannot fill on the meta device "
            f"(non-persistent buffers?): {_preview(left_on_meta)}"
        )
    return module.eval()
