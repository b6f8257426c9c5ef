"""Model manifest: what each model file is, where it came from, its hash and how to feed it.

Built-in entries (``models/manifest.json``) point into installed packages and resolve offline;
a deployer's models live in a user manifest written by :meth:`ModelRegistry.add`. Every load
re-hashes the file and refuses it on mismatch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from models.errors import ManifestError, ModelFileMissing, ModelIntegrityError, ModelNotRegistered
from models.graph_fixes import FIXES, apply_fixes

Kind = Literal["face_detector", "face_embedder", "face_pad"]
KINDS: tuple[str, ...] = get_args(Kind)
BUILTIN_MANIFEST = Path(__file__).with_name("manifest.json")
PACKAGE_PREFIX = "package:"

#: Preprocessing of an ArcFace-style embedder (insightface w600k_r50 and similar).
ARCFACE_PREPROCESSING: dict[str, Any] = {
    "input_size": [112, 112],
    "channel_order": "RGB",
    "mean": 127.5,
    "std": 127.5,
    "layout": "NCHW float32, (x - 127.5) / 127.5",
    "alignment": "5-point similarity transform to the ArcFace 112x112 template",
}

#: What a registered file of each kind is assumed to take when the deployer says nothing more.
DEFAULT_PREPROCESSING: dict[str, dict[str, Any]] = {
    "face_detector": {"decoder": "yunet", "channel_order": "BGR", "mean": 0.0, "std": 1.0},
    "face_embedder": {"input_size": [112, 112], "channel_order": "RGB", "mean": 0.0, "std": 1.0},
    "face_pad": {
        "input_size": [80, 80],
        "channel_order": "BGR",
        "mean": 0.0,
        "std": 1.0,
        "live_index": 1,
        "crop": "box scaled by crop_scale, clamped to the image, shifted not shrunk, resized",
    },
}
DEFAULT_OUTPUT: dict[str, dict[str, str]] = {
    "face_detector": {"*": "YuNet heads cls/obj/bbox/kps at strides 8, 16, 32"},
    "face_embedder": {"0": "identity embedding; L2-normalised, compared by cosine"},
    "face_pad": {"0": "logits per class; softmax; index live_index = live, others spoof"},
}


@dataclass(frozen=True)
class ModelEntry:
    """One manifest record: identity, provenance, hash and the model's input/output contract."""

    id: str
    name: str
    kind: Kind
    file: str
    sha256: str
    license: str
    source: str
    preprocessing: Mapping[str, Any]
    output: Mapping[str, str]
    version: str
    fixes: tuple[str, ...] = ()
    #: True for entries of the manifest shipped with this package
    builtin: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The entry as a manifest JSON object."""
        d = asdict(self)
        d["fixes"] = list(self.fixes)
        d["preprocessing"] = dict(self.preprocessing)
        d["output"] = dict(self.output)
        del d["builtin"]
        return d


@dataclass(frozen=True)
class ModelCheck:
    """The outcome of re-hashing one entry's file."""

    id: str
    path: str
    ok: bool
    problem: str | None  # None, "missing" or "sha256_mismatch"
    actual_sha256: str | None


def _entry(raw: Mapping[str, Any], builtin: bool) -> ModelEntry:
    try:
        kind = raw["kind"]
        if kind not in KINDS:
            raise ManifestError(f"model {raw.get('id')!r}: unknown kind {kind!r}")
        fixes = tuple(raw.get("fixes", ()))
        unknown = [f for f in fixes if f not in FIXES]
        if unknown:
            raise ManifestError(f"model {raw['id']!r}: unknown graph fixes {unknown}")
        sha = str(raw["sha256"]).lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise ManifestError(f"model {raw['id']!r}: sha256 is not 64 hex digits")
        return ModelEntry(
            id=str(raw["id"]),
            name=str(raw["name"]),
            kind=cast(Kind, kind),
            file=str(raw["file"]),
            sha256=sha,
            license=str(raw["license"]),
            source=str(raw["source"]),
            preprocessing=dict(raw.get("preprocessing", {})),
            output=dict(raw.get("output", {})),
            version=str(raw.get("version", "")),
            fixes=fixes,
            builtin=builtin,
        )
    except KeyError as e:
        raise ManifestError(f"manifest entry {raw.get('id')!r} lacks field {e.args[0]!r}") from e


def read_manifest(path: Path, builtin: bool = False) -> list[ModelEntry]:
    """Parse a manifest file (a missing user manifest is an empty one)."""
    if not path.exists() and not builtin:
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ManifestError(f"{path}: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise ManifestError(f"{path}: expected an object with a 'models' list")
    return [_entry(m, builtin) for m in doc["models"]]


def package_file(spec: str) -> Path:
    """Locate ``package:PKG/REL`` inside an installed package without importing its code."""
    pkg, _, rel = spec.removeprefix(PACKAGE_PREFIX).partition("/")
    found = importlib.util.find_spec(pkg)  # top-level find_spec does not execute the package
    if found is None or not found.submodule_search_locations:
        return Path(f"<package {pkg} not installed>") / rel
    return Path(next(iter(found.submodule_search_locations))) / rel


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


class ModelRegistry:
    """Built-in and deployer-registered models; loads only files whose hash matches."""

    def __init__(self, entries: list[ModelEntry], user_manifest: Path | None = None) -> None:
        self._entries = list(entries)
        self.user_manifest = user_manifest

    @property
    def entries(self) -> tuple[ModelEntry, ...]:
        """Every entry, built-ins first, then registered ones in registration order."""
        return tuple(self._entries)

    def all(self, kind: Kind) -> list[ModelEntry]:
        """Every entry of a kind, the preferred (most recently registered) last."""
        return [e for e in self._entries if e.kind == kind]

    def get(self, kind: Kind) -> ModelEntry:
        """The entry used for a kind: the latest registered one, else the built-in."""
        found = self.all(kind)
        if not found:
            raise ModelNotRegistered(f"no {kind} model is registered")
        return found[-1]

    def by_id(self, model_id: str) -> ModelEntry:
        """The entry with this id."""
        for e in self._entries:
            if e.id == model_id:
                return e
        raise ModelNotRegistered(f"no model with id {model_id!r}")

    def path(self, entry: ModelEntry) -> Path:
        """Where the entry's file lives on this machine."""
        if entry.file.startswith(PACKAGE_PREFIX):
            return package_file(entry.file)
        p = Path(entry.file)
        if not p.is_absolute() and self.user_manifest is not None:
            p = self.user_manifest.parent / p
        return p

    def read_verified(self, entry: ModelEntry) -> bytes:
        """The file's bytes after checking them against the manifest hash (raw, unfixed)."""
        path = self.path(entry)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelFileMissing(entry.id, str(path)) from e
        actual = sha256_hex(data)
        if actual != entry.sha256:
            raise ModelIntegrityError(entry.id, str(path), entry.sha256, actual)
        return data

    def load_bytes(self, entry: ModelEntry) -> bytes:
        """The verified model with the entry's in-memory graph fixes applied."""
        return apply_fixes(self.read_verified(entry), entry.fixes)

    def verify(self) -> list[ModelCheck]:
        """Re-hash every entry's file and report each one's state."""
        checks = []
        for e in self._entries:
            path = self.path(e)
            try:
                actual = sha256_hex(path.read_bytes())
            except OSError:
                checks.append(ModelCheck(e.id, str(path), False, "missing", None))
                continue
            ok = actual == e.sha256
            checks.append(
                ModelCheck(e.id, str(path), ok, None if ok else "sha256_mismatch", actual)
            )
        return checks

    def add(
        self,
        path: Path,
        kind: Kind,
        license: str,
        source: str,
        *,
        name: str | None = None,
        model_id: str | None = None,
        version: str = "",
        preprocessing: Mapping[str, Any] | None = None,
        output: Mapping[str, str] | None = None,
        fixes: tuple[str, ...] = ("branchless_prelu",),
    ) -> ModelEntry:
        """Register a deployer's model file by its hash and persist it to the user manifest.

        ``fixes`` default to ``branchless_prelu``: exact, and a no-op without PRelu nodes.
        """
        if self.user_manifest is None:
            raise ManifestError("no user manifest path configured (EKYC_MODELS_MANIFEST)")
        if kind not in KINDS:
            raise ManifestError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        path = Path(path).resolve()
        try:
            sha = sha256_hex(path.read_bytes())
        except OSError as e:
            raise ModelFileMissing(model_id or path.stem, str(path)) from e
        pre = {**DEFAULT_PREPROCESSING[kind], **(preprocessing or {})}
        if kind == "face_pad" and "crop_scale" not in pre:
            raise ManifestError("a face_pad model needs preprocessing['crop_scale'] (e.g. 2.7)")
        raw = {
            "id": model_id or f"{path.stem}-{sha[:8]}",
            "name": name or path.stem,
            "kind": kind,
            "file": str(path),
            "sha256": sha,
            "license": license,
            "source": source,
            "version": version,
            "preprocessing": pre,
            "output": dict(output or DEFAULT_OUTPUT[kind]),
            "fixes": list(fixes),
        }
        entry = _entry(raw, builtin=False)
        if any(e.id == entry.id for e in self._entries):
            raise ManifestError(f"a model with id {entry.id!r} is already registered")
        user = read_manifest(self.user_manifest)
        self._write_user([*user, entry])
        self._entries.append(entry)
        return entry

    def _write_user(self, entries: list[ModelEntry]) -> None:
        assert self.user_manifest is not None
        target = self.user_manifest
        target.parent.mkdir(parents=True, exist_ok=True)
        doc = {"format": 1, "models": [e.to_json() for e in entries]}
        # Write then rename so a crash never leaves half a manifest.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, target)


def default_registry(manifest_path: Path | None = None) -> ModelRegistry:
    """The built-in models plus those in the user manifest at ``manifest_path`` (if any)."""
    entries = read_manifest(BUILTIN_MANIFEST, builtin=True)
    if manifest_path is not None:
        entries += read_manifest(manifest_path)
    return ModelRegistry(entries, manifest_path)
