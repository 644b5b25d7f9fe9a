"""Platform deliverables: presets as data, the PyAV writer, covers, manifests and contact sheets."""

from ltxflow.export.contact_sheet import contact_sheet
from ltxflow.export.deliver import Deliverable, deliver, deliver_many, write_wav
from ltxflow.export.manifest import MANIFEST_COLUMNS, deliverable_fields, write_manifest
from ltxflow.export.presets import ExportError, Preset, find_preset, preset_registry

__all__ = [
    "MANIFEST_COLUMNS", "Deliverable", "ExportError", "Preset", "contact_sheet", "deliver", "deliver_many",
    "deliverable_fields", "find_preset", "preset_registry", "write_manifest", "write_wav",
]  # fmt: skip
