"""Independent readers for the layer tests: OCR (Debian's tesseract), normalised cross-correlation, SRT/VTT
parsers, frames decoded at a time, and a self-made C2PA test certificate chain (CA + signer)."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words, for comparing OCR output with the expected text."""
    return re.findall(r"[a-z0-9]+", text.lower())


def ocr(image: Image.Image) -> str:
    """Text tesseract reads in `image` (one block of lines)."""
    if shutil.which("tesseract") is None:
        if os.environ.get("CI"):
            pytest.fail("tesseract is not installed (.ci/run installs it)")
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crop.png"
        image.convert("L").save(path)
        done = subprocess.run(["tesseract", str(path), "stdout", "--psm", "6"], capture_output=True, text=True, check=True)
    return done.stdout


def ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Normalised cross-correlation of two same-shaped arrays (over `mask` when given)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    if mask is not None:
        a, b = a[mask], b[mask]
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def frame_at(video: Path, seconds: float) -> np.ndarray:
    """(H, W, 3) uint8 RGB of the first frame shown at or after `seconds`."""
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time + 1e-9 >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{video} has no frame at {seconds} s")


_SRT = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n((?:.+\n?)+)")
_VTT = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n((?:.+\n?)+)")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) cues of a SubRip file; numbering must run 1, 2, 3, ..."""
    blocks = [b for b in text.strip().split("\n\n") if b.strip()]
    cues = []
    for n, block in enumerate(blocks, start=1):
        match = _SRT.fullmatch(block.strip() + "\n")
        assert match is not None, f"not an SRT cue: {block!r}"
        assert int(match.group(1)) == n
        g = match.groups()
        cues.append((_seconds(*g[1:5]), _seconds(*g[5:9]), " ".join(g[9].split())))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) cues of a WebVTT file (header required)."""
    assert text.startswith("WEBVTT\n")
    blocks = [b for b in text.split("\n\n")[1:] if b.strip()]
    cues = []
    for block in blocks:
        match = _VTT.fullmatch(block.strip() + "\n")
        assert match is not None, f"not a VTT cue: {block!r}"
        g = match.groups()
        cues.append((_seconds(*g[0:4]), _seconds(*g[4:8]), " ".join(g[8].split())))
    return cues


@pytest.fixture(scope="session")
def c2pa_certificate(tmp_path_factory) -> dict[str, Path]:
    """A test CA and an ES256 signer it issued (PEM files): {"chain", "key", "ca"}."""
    pytest.importorskip("c2pa")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ltxflow tests")])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=not sign, crl_sign=not sign, encipher_only=False, decipher_only=False)

    def build(subject, issuer, key, issuer_key, ca: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
             .add_extension(usage(not ca), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if not ca:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build(name("ltxflow test CA"), name("ltxflow test CA"), ca_key, ca_key, True)
    signer = build(name("ltxflow test signer"), ca.subject, key, ca_key, False)
    folder = tmp_path_factory.mktemp("c2pa")
    pem = serialization.Encoding.PEM
    (folder / "chain.pem").write_bytes(signer.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return {"chain": folder / "chain.pem", "key": folder / "key.pem", "ca": folder / "ca.pem"}


def c2pa_report(video: Path, ca: Path) -> tuple[str, dict]:
    """(validation state, active manifest) of a signed file, trusting only the test CA."""
    import c2pa

    context = c2pa.Context.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": ca.read_text()}})
    with video.open("rb") as f:
        reader = c2pa.Reader("video/mp4", f, context=context)
        return reader.get_validation_state(), reader.get_active_manifest()


def _scores(grey: np.ndarray, template: np.ndarray, mask: np.ndarray, xs: range, ys: range) -> np.ndarray:
    """NCC of the masked template at every (y, x) top-left corner in ys x xs."""
    h, w = template.shape
    t = template[mask] - template[mask].mean()
    out = np.full((len(ys), len(xs)), -1.0)
    for i, y in enumerate(ys):
        rows = np.lib.stride_tricks.sliding_window_view(grey[y : y + h], (h, w))[0]  # (X, h, w)
        patches = rows[xs.start : xs.stop : xs.step][:, mask]  # (n, m)
        patches = patches - patches.mean(axis=1, keepdims=True)
        denominator = np.sqrt((patches**2).sum(axis=1) * (t**2).sum())
        out[i, : len(patches)] = (patches @ t) / np.maximum(denominator, 1e-9)
    return out


def logo_search(frame: np.ndarray, logo: Image.Image, size: tuple[int, int],
                area: tuple[int, int, int, int]) -> tuple[float, tuple[int, int]]:  # fmt: skip
    """(NCC, (x, y)) of the best match of the logo, scaled to `size`, inside `area` of the frame.

    Grey levels, over the logo's opaque pixels; found at 1/4 scale, then refined at full scale.
    """
    def prepared(scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scaled = logo.convert("RGBA").resize((size[0] // scale, size[1] // scale), Image.Resampling.LANCZOS)
        rgba = np.asarray(scaled).astype(np.float64)
        image = Image.fromarray(frame)
        if scale > 1:
            image = image.resize((frame.shape[1] // scale, frame.shape[0] // scale), Image.Resampling.BOX)
        return np.asarray(image).astype(np.float64).mean(axis=-1), rgba[..., :3].mean(axis=-1), rgba[..., 3] >= 250

    x0, y0, x1, y1 = area
    grey, template, mask = prepared(4)
    h, w = template.shape
    coarse = _scores(grey, template, mask, range(x0 // 4, x1 // 4 - w + 1), range(y0 // 4, y1 // 4 - h + 1))
    cy, cx = np.unravel_index(np.argmax(coarse), coarse.shape)
    gx, gy = (x0 // 4 + cx) * 4, (y0 // 4 + cy) * 4
    grey, template, mask = prepared(1)
    xs = range(max(0, gx - 6), min(frame.shape[1] - size[0], gx + 6) + 1)
    ys = range(max(0, gy - 6), min(frame.shape[0] - size[1], gy + 6) + 1)
    fine = _scores(grey, template, mask, xs, ys)
    fy, fx = np.unravel_index(np.argmax(fine), fine.shape)
    return float(fine[fy, fx]), (xs.start + int(fx), ys.start + int(fy))
