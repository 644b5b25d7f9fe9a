"""Content credentials: the AI-generation disclosure every MP4 carries in its metadata, and, with the optional
`c2pa` extra (c2pa-python) and a signing certificate, a signed C2PA manifest whose action declares the
IPTC digital source type `trainedAlgorithmicMedia`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ltxflow.errors import CampaignError
from ltxflow.export.atomic import atomic_path
from ltxflow.layers.schema import Credentials

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CERT_ENV, KEY_ENV = "LTXFLOW_C2PA_CERT", "LTXFLOW_C2PA_KEY"
_MODELS = {"ltx2": ("LTX-2", "LTX-2 Community License")}  # engine -> (model name, licence) defaults


def _version() -> str:
    try:
        return metadata.version("ltxflow")
    except metadata.PackageNotFoundError:
        return "0"


def disclosure(credentials: Credentials, engine: str, checkpoint_id: str) -> dict[str, str]:
    """The MP4 metadata tags (written as `mdta` keys) that say the video is AI-generated, by what and under what licence."""
    model, licence = _MODELS.get(engine, (engine, ""))
    model = credentials.model or model
    version = credentials.model_version or checkpoint_id
    licence = credentials.license if credentials.license is not None else licence
    generator = f"ltxflow {_version()}"
    sentence = f"{credentials.disclosure}. Generated with {model} ({version}) by {generator}"
    return {
        "comment": sentence + (f"; model licence: {licence}" if licence else ""),
        "ai_generated": "true", "ai_disclosure": credentials.disclosure, "ai_model": model,
        "ai_model_version": version, "ai_model_license": licence, "ai_generator": generator,
        "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
    }  # fmt: skip


@dataclass(frozen=True, eq=False)
class C2paSigner:
    """A loaded c2pa-python signer and the manifest fields every signed file shares."""

    signer: Any  # c2pa.Signer
    tags: Mapping[str, str]  # the disclosure tags, echoed in the manifest

    def sign(self, source: Path, path: Path) -> None:
        """Write `source` to `path` (atomically) with a signed manifest embedded; `source` is left as it is."""
        import c2pa

        manifest = {
            "claim_generator_info": [{"name": "ltxflow", "version": _version()}],
            "title": path.name, "format": "video/mp4",
            "assertions": [
                {"label": "c2pa.actions", "data": {"actions": [{
                    "action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                    "softwareAgent": {"name": self.tags["ai_generator"]},
                    "parameters": {"model": self.tags["ai_model"], "model_version": self.tags["ai_model_version"],
                                   "license": self.tags["ai_model_license"]},
                }]}},
            ],
        }  # fmt: skip
        with atomic_path(path) as partial:
            with source.open("rb") as unsigned, partial.open("w+b") as target:
                c2pa.Builder(manifest).sign(self.signer, "video/mp4", unsigned, target)


def load_signer(credentials: Credentials, tags: Mapping[str, str], where: Path) -> C2paSigner | None:
    """The C2PA signer the campaign asks for, or None ("off"; "auto" without the extra or a key)."""
    if credentials.c2pa == "off":
        return None
    cert = credentials.cert or _env_path(CERT_ENV)
    key = credentials.key or _env_path(KEY_ENV)
    try:
        import c2pa
    except ImportError:
        if credentials.c2pa == "required":
            raise CampaignError(f"{where}: credentials.c2pa: \"required\" needs the c2pa extra "
                                "(pip install 'ltxflow[c2pa]')") from None  # fmt: skip
        return None
    if cert is None or key is None:
        if credentials.c2pa == "required":
            raise CampaignError(f"{where}: credentials.c2pa: \"required\" needs cert and key "
                                f"(or ${CERT_ENV} and ${KEY_ENV})")  # fmt: skip
        return None
    try:
        info = c2pa.C2paSignerInfo(credentials.alg.encode(), cert.read_bytes(), key.read_bytes(), None)
        return C2paSigner(c2pa.Signer.from_info(info), dict(tags))
    except (OSError, c2pa.C2paError) as exc:
        raise CampaignError(f"{where}: credentials: cannot load the C2PA signing key ({exc})") from None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None

