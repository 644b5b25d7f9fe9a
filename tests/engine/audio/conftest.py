"""ltx-core's audio package imports torchaudio (no CPU wheel here); a bare stand-in lets the modules we compare load.

The stand-in is removed again right after the import so that libraries probing for torchaudio elsewhere in the
session (transformers' find_spec checks) still see it as absent.
"""

import sys
import types

_stub = types.ModuleType("torchaudio")
_stub.transforms = types.ModuleType("torchaudio.transforms")  # only touched by AudioProcessor, which we never build
_stub.functional = types.ModuleType("torchaudio.functional")
_installed = sys.modules.setdefault("torchaudio", _stub) is _stub

import ltx_core.model.audio_vae  # noqa: E402,F401  (binds the stand-in inside ltx-core's ops module)

if _installed:
    del sys.modules["torchaudio"]
