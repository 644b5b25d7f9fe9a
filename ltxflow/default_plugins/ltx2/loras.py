"""The ltx2 engine's LoRA files: read once, checked against the content hash the task id was made from.

The fused weights themselves live with the model (ModelSet.loras restores the clean weights and fuses each
request's set); this keeps the loaded factors of recently used files in host memory, so variants that alternate
between a few LoRAs do not reread them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ltxflow.engine.lora import Lora, LoraError, LoraFile, WeightedLora
from ltxflow.tasks import LoraRef, Task, file_sha256

CACHE_BYTES = 8 << 30  # host bytes of LoRA factors kept loaded (a rank-64 LoRA on every 19B block linear: 1.2 GB)


@dataclass(frozen=True)
class TaskLoras:
    """A task's LoRAs, loaded: the first stage's set, and the refinement's whole set (None: the same)."""

    first: tuple[WeightedLora, ...] = ()
    refine: tuple[WeightedLora, ...] | None = None


class LoraCache:
    """Loaded LoRA files by (path, sha256), least recently used dropped first beyond CACHE_BYTES."""

    def __init__(self, budget: int = CACHE_BYTES) -> None:
        self.budget = budget
        self._loaded: OrderedDict[tuple[str, str], Lora] = OrderedDict()

    def for_task(self, task: Task) -> TaskLoras:
        """The task's sets: "refine" LoRAs (the distilled LoRA) join the refinement's, after the others."""
        every = tuple(WeightedLora(self.load(ref), ref.strength) for ref in task.loras if ref.stage == "all")
        refine = tuple(WeightedLora(self.load(ref), ref.strength) for ref in task.loras if ref.stage == "refine")
        return TaskLoras(every, every + refine if refine else None)

    def load(self, ref: LoraRef) -> Lora:
        """The file's factors, read and checked on first use."""
        key = (ref.path, ref.sha256)
        if key in self._loaded:
            self._loaded.move_to_end(key)
            return self._loaded[key]
        path = Path(ref.path)
        try:
            digest = file_sha256(path)
        except OSError as err:
            raise LoraError(f"{path}: cannot read the LoRA file ({err.strerror})") from None
        if digest != ref.sha256:
            raise LoraError(f"{path}: the LoRA file changed since the campaign was planned (sha256 {digest[:12]}, "
                            f"planned {ref.sha256[:12]}); plan again")  # fmt: skip
        lora = LoraFile.open(path).load()
        self._loaded[key] = lora
        while sum(item.nbytes for item in self._loaded.values()) > self.budget and len(self._loaded) > 1:
            self._loaded.popitem(last=False)
        return lora
