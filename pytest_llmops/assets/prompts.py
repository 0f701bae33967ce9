"""Versioned prompt registry: one YAML file per prompt, many versions per file.

File format (``<root>/<name>.yaml`` or ``.yml``)::

    name: support_answer          # optional; must equal the file stem if given
    description: Answer a customer question
    current: v2                   # optional; default: highest version by natural sort (v10 > v9 > v2)
    versions:
      v1:
        description: first version
        model: openai/smollm2     # optional default model
        params: {temperature: 0.7, max_tokens: 200}
        metadata: {owner: support-team}
        messages:                 # chat messages, each content a jinja2 template
          - {role: system, content: "You are ..."}
          - {role: user, content: "{{ question }}"}
      v2:
        template: "Answer: {{ question }}"   # a single template = one user message
    promotions:                   # optional; appended by `pytest-llmops prompts promote/rollback`
      - {action: promote, version: v2, hash: ..., evidence_sha256: ..., at: ...}

Each version has a **content hash**: sha256 of the canonical JSON of its messages (a single ``template``
normalised to one user message), model and params.  Descriptions, metadata, comments, key order and YAML
quoting/flow style do not enter it, so reformatting a file keeps the hash, and any change to what is sent to
the model changes it.

Templates are rendered with jinja2's sandbox and ``StrictUndefined``: a missing variable is an error, never
an empty string.  jinja2 and yaml are imported inside the functions that need them.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..common.canonical import content_digest
from ..errors import PromptError
from .yaml_source import YamlDocument, YamlSourceError, format_loc, load_yaml_with_lines

__all__ = [
    "PromptError", "PromptRegistry", "PromptVersion", "RenderedPrompt", "content_hash", "natural_key", "parse_ref",
]

PROMPT_SUFFIXES = (".yaml", ".yml")
SHORT_HASH_LENGTH = 16
_REF_RE = re.compile(r"^(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-/]*?)(?:@(?P<version>[^@\s]+))?$")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs numerically: ``v2 < v9 < v10``, ``1.2 < 1.10``."""
    parts = re.split(r"(\d+)", text)
    key: list[tuple[int, int | str]] = []
    for part in parts:
        if not part:
            continue
        key.append((0, int(part)) if part.isdigit() else (1, part.lower()))
    return tuple(key) + ((2, text),)  # ties (v01 vs v1, V1 vs v1) broken deterministically


def content_hash(messages: list[dict[str, str]], model: str | None, params: dict[str, Any]) -> str:
    """Full sha256 hex digest of what a prompt version sends to the model."""
    payload = {
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "model": model,
        "params": params,
    }
    return content_digest(payload)


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``"name@v2"`` into ``("name", "v2")``; a bare ``"name"`` gives ``("name", None)``."""
    if not isinstance(ref, str) or not (match := _REF_RE.match(ref.strip())):
        raise PromptError(
            f"bad prompt reference {ref!r}: write 'name' or 'name@version' (for example 'support_answer@v2')"
        )
    return match.group("name"), match.group("version")


# --------------------------------------------------------------------------------------------- templates
@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=2048)
def _compile(source: str) -> Any:
    """Compile a template once per distinct source text (errors are not cached and re-raise each time)."""
    return _environment().from_string(source)


_UNDEFINED_RE = re.compile(r"^'([^']+)' is undefined$")


class RenderedPrompt(list):  # type: ignore[type-arg]
    """Rendered chat messages (a plain list to litellm) that also carry the model and params of their version."""

    def __init__(self, messages: list[dict[str, str]], version: PromptVersion) -> None:
        super().__init__(messages)
        self.ref = version.ref
        self.model = version.model
        self.params = copy.deepcopy(version.params)

    def call_params(self) -> dict[str, Any]:
        """``{"model": ..., **params}`` the prompt version declares (``model`` left out when not set)."""
        out: dict[str, Any] = {} if self.model is None else {"model": self.model}
        out.update(copy.deepcopy(self.params))
        return out


@dataclass(frozen=True)
class PromptVersion:
    """One version of one prompt, as loaded from its YAML file.  Immutable."""

    name: str
    version: str
    description: str | None
    model: str | None
    params: dict[str, Any]
    metadata: dict[str, Any]
    messages: tuple[dict[str, str], ...]  # raw (unrendered) templates: [{"role": ..., "content": ...}]
    source: Path
    hash: str  # full sha256 hex digest, see module docstring
    message_lines: tuple[int, ...] = field(default=(), repr=False, compare=False)  # file line of each content

    def __hash__(self) -> int:
        return hash((self.name, self.version, self.hash))

    @property
    def short_hash(self) -> str:
        return self.hash[:SHORT_HASH_LENGTH]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def _where(self, index: int) -> str:
        line = self.message_lines[index] if index < len(self.message_lines) else 0
        return f"{self.source}:{line}" if line else str(self.source)

    def _template(self, index: int) -> Any:
        from jinja2 import TemplateSyntaxError

        source = self.messages[index]["content"]
        try:
            return _compile(source)
        except TemplateSyntaxError as exc:
            raise PromptError(
                f"prompt {self.ref}: template syntax error in messages[{index}] ({self._where(index)}, "
                f"template line {exc.lineno}): {exc.message}; fix the jinja2 template"
            ) from None
        except RecursionError:
            raise PromptError(
                f"prompt {self.ref}: the template in messages[{index}] ({self._where(index)}) is nested too "
                "deeply to compile; simplify the jinja2 template"
            ) from None

    def variables(self) -> set[str]:
        """Names of the variables the templates use (``jinja2.meta.find_undeclared_variables``)."""
        from jinja2 import meta

        names: set[str] = set()
        for index, message in enumerate(self.messages):
            self._template(index)  # raises a PromptError with position on a syntax error
            names |= meta.find_undeclared_variables(_environment().parse(message["content"]))
        return names

    def render(self, /, **variables: Any) -> RenderedPrompt:
        """Fill the templates; returns litellm-ready ``[{"role": ..., "content": ...}]``.

        The list also carries the version's model and params (:class:`RenderedPrompt`), which
        ``llm.complete(prompt.render(...))`` uses unless the call overrides them.  Notes the prompt (name,
        version, hash) on the running test's record, if a test is running.
        """
        from jinja2 import TemplateError, UndefinedError
        from jinja2.exceptions import SecurityError

        rendered: list[dict[str, str]] = []
        for index, message in enumerate(self.messages):
            template = self._template(index)
            try:
                content = template.render(**variables)
            except UndefinedError as exc:
                text = exc.message or str(exc)
                match = _UNDEFINED_RE.match(text)
                what = f"variable {match.group(1)!r} is not defined" if match else text
                given = ", ".join(sorted(variables)) or "none"
                raise PromptError(
                    f"prompt {self.ref}: {what} in messages[{index}] ({self._where(index)}); "
                    f"variables given: {given}; pass it to render(...)"
                ) from None
            except SecurityError as exc:
                raise PromptError(
                    f"prompt {self.ref}: the template in messages[{index}] ({self._where(index)}) tried an "
                    f"unsafe operation refused by the jinja2 sandbox: {exc}"
                ) from None
            except TemplateError as exc:
                raise PromptError(
                    f"prompt {self.ref}: cannot render messages[{index}] ({self._where(index)}): {exc}"
                ) from None
            except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, RecursionError) as exc:
                raise PromptError(
                    f"prompt {self.ref}: error while rendering messages[{index}] ({self._where(index)}): "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            rendered.append({"role": message["role"], "content": content})
        from ..record.recorder import current_test

        recorder = current_test()
        if recorder is not None:
            recorder.add_prompt(self.name, self.version, self.hash)
        return RenderedPrompt(rendered, self)

    def call_params(self) -> dict[str, Any]:
        """``{"model": ..., **params}`` for ``litellm.completion`` (``model`` left out when not set)."""
        out: dict[str, Any] = {}
        if self.model is not None:
            out["model"] = self.model
        out.update(copy.deepcopy(self.params))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain builtins describing this version (for run records)."""
        return {
            "name": self.name,
            "version": self.version,
            "hash": self.hash,
            "short_hash": self.short_hash,
            "model": self.model,
            "source": str(self.source),
        }


# --------------------------------------------------------------------------------------------- file schema
@lru_cache(maxsize=1)
def _schema() -> tuple[type, type]:
    """Pydantic models of a prompt file, built on first use (pydantic stays out of module import)."""
    from typing import Literal, Optional

    from pydantic import BaseModel, ConfigDict, StrictStr, model_validator

    class MessageSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        role: Literal["system", "user", "assistant", "developer", "tool"]
        content: StrictStr

    class VersionSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        description: Optional[StrictStr] = None
        model: Optional[StrictStr] = None
        params: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        messages: Optional[list[MessageSpec]] = None
        template: Optional[StrictStr] = None

        @model_validator(mode="after")
        def _one_body(self) -> VersionSpec:
            if (self.messages is None) == (self.template is None):
                raise ValueError("give exactly one of 'messages' (a list of {role, content}) or 'template'")
            if self.messages is not None and not self.messages:
                raise ValueError("'messages' is empty; give at least one {role, content} message")
            return self

    class PromptFileSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        name: Optional[StrictStr] = None
        description: Optional[StrictStr] = None
        current: Optional[StrictStr] = None
        versions: dict[StrictStr, VersionSpec]
        promotions: Optional[list[dict[str, Any]]] = None  # written by `pytest-llmops prompts promote/rollback`

    return PromptFileSpec, VersionSpec


@dataclass
class _PromptFile:
    name: str
    description: str | None
    current: str
    versions: dict[str, PromptVersion]  # in natural order
    promotions: list[dict[str, Any]] = field(default_factory=list)  # the promotion history, oldest first


def _read_prompt_doc(path: Path) -> YamlDocument:
    """The prompt file's YAML with line numbers; its data a mapping (version keys ``1:`` made strings)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc}") from None
    try:
        doc = load_yaml_with_lines(text)
    except YamlSourceError as exc:
        raise PromptError(f"invalid YAML in prompt file {exc.where(str(path))}: {exc.problem}") from None
    data = doc.data
    if not isinstance(data, dict):
        raise PromptError(
            f"prompt file {path} must be a mapping with a 'versions' key, got {type(data).__name__}; "
            "see the pytest_llmops.assets.prompts docstring for the format"
        )
    versions = data.get("versions")
    if isinstance(versions, dict):  # YAML `1:` / `1.0:` keys are ints/floats; version names are strings
        doc.data = {**data, "versions": {str(k) if isinstance(k, (int, float)) else k: v for k, v in versions.items()}}
    return doc


def _schema_problem(err: Any, path: Path, doc: YamlDocument) -> str:
    """One pydantic error of a prompt file as ``file:line: problem``."""
    loc = format_loc(err["loc"])
    line = doc.line_of(loc)
    where = f"{path}:{line}" if line else str(path)
    if err["type"] == "extra_forbidden":
        problem = f"unknown field {loc!r}"
    elif err["type"] == "missing":
        problem = f"missing field {loc!r}"
    else:
        detail = str(err["msg"]).removeprefix("Value error, ")
        problem = f"field {loc!r}: {detail} (got {err.get('input')!r:.60})"
    return f"  {where}: {problem}"


def _validated_spec(name: str, path: Path, doc: YamlDocument) -> Any:
    """The file's data checked against the prompt-file schema; :class:`PromptError` lists the problems."""
    from pydantic import ValidationError

    file_spec, _ = _schema()
    try:
        spec = file_spec.model_validate(doc.data)
    except ValidationError as exc:
        problems = [_schema_problem(err, path, doc) for err in exc.errors()[:20]]
        raise PromptError(f"invalid prompt file {path}:\n" + "\n".join(problems)) from None
    if spec.name is not None and spec.name != name:
        raise PromptError(
            f"prompt file {path}:{doc.line_of('name')}: name {spec.name!r} does not match the file name "
            f"{name!r}; rename the file or fix the name"
        )
    if not spec.versions:
        raise PromptError(f"prompt file {path}:{doc.line_of('versions')}: 'versions' is empty; add a version")
    return spec


def _load_version(name: str, version: str, vspec: Any, path: Path, doc: YamlDocument) -> PromptVersion:
    """One validated version spec as a :class:`PromptVersion` (with the file line of each message)."""
    base = f"versions.{version}"
    if vspec.template is not None:
        messages = ({"role": "user", "content": vspec.template},)
        lines = (doc.line_of(f"{base}.template"),)
    else:
        messages = tuple({"role": m.role, "content": m.content} for m in vspec.messages or [])
        lines = tuple(doc.line_of(f"{base}.messages[{i}].content") for i in range(len(messages)))
    for key, value in (("params", vspec.params), ("metadata", vspec.metadata)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise PromptError(
                f"prompt file {path}:{doc.line_of(f'{base}.{key}')}: {base}.{key} must hold plain JSON-like "
                f"values (strings, numbers, bools, lists, mappings): {exc}"
            ) from None
    params = copy.deepcopy(vspec.params)
    return PromptVersion(
        name=name,
        version=version,
        description=vspec.description,
        model=vspec.model,
        params=params,
        metadata=copy.deepcopy(vspec.metadata),
        messages=messages,
        source=path,
        hash=content_hash(list(messages), vspec.model, params),
        message_lines=lines,
    )


def _load_prompt_file(name: str, path: Path) -> _PromptFile:
    doc = _read_prompt_doc(path)
    spec = _validated_spec(name, path, doc)
    loaded = {
        version: _load_version(name, version, spec.versions[version], path, doc)
        for version in sorted(spec.versions, key=natural_key)
    }
    current = spec.current if spec.current is not None else list(loaded)[-1]
    if current not in loaded:
        raise PromptError(
            f"prompt file {path}:{doc.line_of('current')}: current version {current!r} is not defined; "
            f"known versions: {', '.join(loaded)}"
        )
    return _PromptFile(name, spec.description, current, loaded, copy.deepcopy(spec.promotions or []))


# --------------------------------------------------------------------------------------------- registry
class PromptRegistry:
    """Prompts stored as ``<root>/<name>.yaml`` files; loaded lazily and cached per registry."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._files: dict[str, _PromptFile] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PromptRegistry({str(self.root)!r})"

    def _paths(self) -> dict[str, Path]:
        if not self.root.is_dir():
            raise PromptError(
                f"prompt directory {self.root} does not exist; create it or point the prompts root option at "
                "the folder holding your <name>.yaml prompt files"
            )
        found: dict[str, Path] = {}
        for path in sorted(self.root.iterdir()):
            if path.suffix in PROMPT_SUFFIXES and path.is_file():
                if path.stem in found:
                    raise PromptError(
                        f"prompt {path.stem!r} is defined twice: {found[path.stem]} and {path}; keep one file"
                    )
                found[path.stem] = path
        return found

    def names(self) -> list[str]:
        """Names of all prompts under the root, sorted naturally."""
        return sorted(self._paths(), key=natural_key)

    def _file(self, name: str) -> _PromptFile:
        with self._lock:
            cached = self._files.get(name)
        if cached is not None:
            return cached
        paths = self._paths()
        if name not in paths:
            known = ", ".join(sorted(paths, key=natural_key)) or "none"
            raise PromptError(
                f"unknown prompt {name!r}: no {name}.yaml or {name}.yml in {self.root}; known prompts: {known}"
            )
        loaded = _load_prompt_file(name, paths[name])
        with self._lock:
            return self._files.setdefault(name, loaded)

    def versions(self, name: str) -> list[str]:
        """Version names of a prompt, sorted naturally (``v2 < v10``)."""
        return list(self._file(name).versions)

    def current_version(self, name: str) -> str:
        return self._file(name).current

    def promotions(self, name: str) -> list[dict[str, Any]]:
        """The prompt's promotion history (``promotions:`` in its file), oldest first; see ``assets.promotion``."""
        return copy.deepcopy(self._file(name).promotions)

    def get(self, name: str, version: str | None = None) -> PromptVersion:
        """One version of a prompt; ``None`` means the ``current`` one (default: highest natural version)."""
        prompt = self._file(name)
        if version is None:
            return prompt.versions[prompt.current]
        if version not in prompt.versions:
            raise PromptError(
                f"prompt {name!r} has no version {version!r} ({prompt.versions[prompt.current].source}); "
                f"known versions: {', '.join(prompt.versions)} (current: {prompt.current})"
            )
        return prompt.versions[version]

    parse_ref = staticmethod(parse_ref)

    def resolve(self, ref: str) -> PromptVersion:
        """``registry.resolve("support_answer@v2")``; a bare name gives the current version."""
        name, version = parse_ref(ref)
        return self.get(name, version)

    def clear_cache(self) -> None:
        with self._lock:
            self._files.clear()
