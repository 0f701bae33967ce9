"""Judge prompts: jinja2 templates (sandboxed, strict) and nonce fences around the untrusted judged text.

Every judge template defines the blocks it is rendered through: ``system`` and ``user`` (``judge_check.j2``,
``judge_compare.j2``, ``judge_grounding.j2``) or only ``user`` (``judge_repair.j2``).  Templates are looked
up first in the user's ``template_dir`` (a file of the same name overrides the packaged one), then in the
package's ``templates/`` folder.  Rendering uses :class:`jinja2.sandbox.SandboxedEnvironment` with
:class:`jinja2.StrictUndefined`: a template that names an unknown variable is a :class:`ConfigError`.

Fencing: the judged texts are pasted between markers such as ``<<<OUTPUT-9f2c...>>>`` and
``<<<END-OUTPUT-9f2c...>>>``.  The nonce is a sha256 of the fenced texts themselves, regenerated (with a
counter) until it occurs in none of them, so the judged text cannot close the fence early, and the same texts
always give the same prompt -- which keeps replay keys stable from run to run.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"  # pytest_llmops/templates/
NONCE_LENGTH = 16

CHECK_TEMPLATE = "judge_check.j2"
COMPARE_TEMPLATE = "judge_compare.j2"
REPAIR_TEMPLATE = "judge_repair.j2"
GROUNDING_TEMPLATE = "judge_grounding.j2"

_env_lock = threading.Lock()
_envs: dict[str | None, Any] = {}


def fence_nonce(texts: Iterable[str], *, length: int = NONCE_LENGTH) -> str:
    """A hex nonce derived from ``texts`` that occurs in none of them (deterministic; see the module docstring)."""
    texts = list(texts)
    if not 1 <= length <= 64:
        raise ConfigError(f"fence_nonce: length must be 1..64 hex digits, got {length!r}")
    seed = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()
    counter = 0
    while True:
        nonce = hashlib.sha256(f"{seed}\x1e{counter}".encode()).hexdigest()[:length]
        if not any(nonce in text for text in texts):
            return nonce
        counter += 1
        if counter > 10_000:  # only reachable with a tiny ``length`` and texts holding every candidate
            raise ConfigError(f"fence_nonce: no {length}-digit nonce is absent from the texts; use a longer nonce")


def fence(text: str, label: str, nonce: str) -> str:
    """``text`` between ``<<<LABEL-nonce>>>`` and ``<<<END-LABEL-nonce>>>`` lines."""
    return f"<<<{label}-{nonce}>>>\n{text}\n<<<END-{label}-{nonce}>>>"


def _environment(template_dir: str | None) -> Any:
    with _env_lock:
        env = _envs.get(template_dir)
        if env is None:
            import jinja2  # noqa: PLC0415 - heavy-ish, only when a judge renders
            from jinja2.sandbox import SandboxedEnvironment  # noqa: PLC0415

            search = [str(PACKAGE_TEMPLATES)] if template_dir is None else [template_dir, str(PACKAGE_TEMPLATES)]
            env = SandboxedEnvironment(
                loader=jinja2.FileSystemLoader(search),
                undefined=jinja2.StrictUndefined,
                autoescape=False,
                keep_trailing_newline=False,
            )
            _envs[template_dir] = env
    return env


def check_template_dir(template_dir: str | os.PathLike[str] | None) -> str | None:
    """``template_dir`` as an absolute path string, or ConfigError when it is not a directory."""
    if template_dir is None:
        return None
    path = Path(template_dir).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"judge template_dir {str(template_dir)!r} is not a directory (Judge(template_dir=...) / ini "
            "llmops_judge_templates); create it and put overriding files such as judge_check.j2 in it"
        )
    return str(path.resolve())


@dataclass(frozen=True)
class RenderedPrompt:
    """The rendered blocks of one template plus what identifies the template in the record."""

    blocks: dict[str, str]
    template: str  # file name, e.g. "judge_check.j2"
    sha256: str  # of the template source text
    source: str  # "package" or the overriding directory

    def details(self) -> dict[str, str]:
        return {"template": self.template, "template_sha256": self.sha256, "template_source": self.source}


def render(name: str, context: dict[str, Any], *, template_dir: str | None, blocks: Sequence[str]) -> RenderedPrompt:
    """Render the named ``blocks`` of template ``name`` with ``context`` (ConfigError on any template problem)."""
    import jinja2  # noqa: PLC0415
    from jinja2.sandbox import SecurityError  # noqa: PLC0415

    env = _environment(template_dir)
    try:
        source, filename, _ = env.loader.get_source(env, name)
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"judge template {name!r} not found in {template_dir or PACKAGE_TEMPLATES}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"judge template {exc.filename or name}:{exc.lineno}: syntax error: {exc.message}; fix the template"
        ) from None
    origin = "package" if Path(filename).resolve().parent == PACKAGE_TEMPLATES else str(Path(filename).parent)
    missing = [block for block in blocks if block not in template.blocks]
    if missing:
        raise ConfigError(
            f"judge template {filename} must define the block(s) {missing} "
            f"({{% block {missing[0]} %}}...{{% endblock %}}); it defines {sorted(template.blocks)}"
        )
    rendered: dict[str, str] = {}
    for block in blocks:
        try:
            text = "".join(template.blocks[block](template.new_context(dict(context))))
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"judge template {filename}, block {block!r}: {exc.message}; available variables: "
                f"{', '.join(sorted(context))}"
            ) from None
        except SecurityError as exc:
            raise ConfigError(f"judge template {filename}, block {block!r}: unsafe operation refused: {exc}") from None
        except jinja2.TemplateError as exc:
            raise ConfigError(f"judge template {filename}, block {block!r}: {exc}") from None
        rendered[block] = text.strip()
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return RenderedPrompt(rendered, name, digest, origin)


def require_fenced(prompt: RenderedPrompt, fenced: Iterable[str]) -> None:
    """ConfigError unless every fenced block appears verbatim in the rendered user message.

    This keeps an overriding template from pasting the judged text unfenced (or not at all).
    """
    user = prompt.blocks.get("user", "")
    for block in fenced:
        if block not in user:
            first_line = block.split("\n", 1)[0]
            raise ConfigError(
                f"judge template {prompt.template} ({prompt.source}) does not put the fenced text "
                f"{first_line}... into its user block; insert the provided variable unchanged (e.g. {{{{ output }}}})"
            )
