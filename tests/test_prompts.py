"""Prompt registry: file format, natural version order, rendering, content hash and every error path."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_llmops.assets.prompts import PromptRegistry, content_hash, natural_key, parse_ref
from pytest_llmops.errors import PromptError
from pytest_llmops.record import recorder as recorder_module

DATA = Path(__file__).parent / "data" / "prompts"


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def registry() -> PromptRegistry:
    return PromptRegistry(DATA)


# ------------------------------------------------------------------------------------------- lookup
def test_names_and_natural_version_order(registry: PromptRegistry) -> None:
    assert registry.names() == ["summarize", "support_answer"]
    assert registry.versions("support_answer") == ["v1", "v2", "v10"]


def test_natural_key_orders_numbers_numerically() -> None:
    assert sorted(["v10", "v9", "v2", "v1.10", "v1.2"], key=natural_key) == ["v1.2", "v1.10", "v2", "v9", "v10"]


def test_default_version_is_highest_natural_and_current_pins(registry: PromptRegistry) -> None:
    assert registry.get("support_answer").version == "v10"  # v10 > v2 although "v10" < "v2" as text
    assert registry.get("summarize").version == "v1"  # `current: v1` in the .yml file
    assert registry.get("summarize", "v2").model == "openai/smollm2"


def test_parse_ref_and_resolve(registry: PromptRegistry) -> None:
    assert parse_ref("support_answer@v2") == ("support_answer", "v2")
    assert registry.parse_ref("summarize") == ("summarize", None)
    assert registry.resolve("support_answer@v1").version == "v1"
    assert registry.resolve("summarize").version == "v1"
    for bad in ("a@b@c", "", "@v1", "name@"):
        with pytest.raises(PromptError, match="bad prompt reference"):
            parse_ref(bad)


def test_unknown_name_lists_known_prompts_and_root(registry: PromptRegistry) -> None:
    with pytest.raises(PromptError) as info:
        registry.get("support_anser")
    message = str(info.value)
    assert "support_anser" in message and "summarize, support_answer" in message and str(DATA) in message


def test_unknown_version_lists_known_versions(registry: PromptRegistry) -> None:
    with pytest.raises(PromptError) as info:
        registry.get("support_answer", "v3")
    message = str(info.value)
    assert "'v3'" in message and "v1, v2, v10" in message and "current: v10" in message


def test_missing_root_directory(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="does not exist"):
        PromptRegistry(tmp_path / "nope").names()


def test_same_prompt_in_yaml_and_yml_is_refused(tmp_path: Path) -> None:
    body = "versions: {v1: {template: hi}}\n"
    write(tmp_path, "dup.yaml", body)
    write(tmp_path, "dup.yml", body)
    with pytest.raises(PromptError, match="defined twice"):
        PromptRegistry(tmp_path).get("dup")


def test_files_load_lazily_and_are_cached(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", "versions: {v1: {template: 'hi {{ who }}'}}\n")
    write(tmp_path, "broken.yaml", "versions: [unclosed\n")
    registry = PromptRegistry(tmp_path)
    first = registry.get("good")  # the broken file is never parsed
    (tmp_path / "good.yaml").write_text("versions: {v1: {template: 'changed'}}\n", encoding="utf-8")
    assert registry.get("good") is first  # cached per registry
    assert PromptRegistry(tmp_path).get("good").messages[0]["content"] == "changed"
    with pytest.raises(PromptError, match="invalid YAML"):
        registry.get("broken")


# ------------------------------------------------------------------------------------------- rendering
def test_render_messages_and_call_params(registry: PromptRegistry) -> None:
    prompt = registry.get("support_answer", "v1")
    assert prompt.render(question="Where is my order?") == [
        {"role": "system", "content": "You are a helpful support agent."},
        {"role": "user", "content": "Where is my order?"},
    ]
    assert prompt.call_params() == {"model": "openai/smollm2", "temperature": 0.7, "max_tokens": 200}
    prompt.call_params()["temperature"] = 99  # a copy: the version stays immutable
    assert prompt.params["temperature"] == 0.7
    assert prompt.metadata == {"owner": "support-team"}
    assert prompt.variables() == {"question"}


def test_render_loops_and_single_template(registry: PromptRegistry) -> None:
    v2 = registry.get("support_answer", "v2")
    messages = v2.render(question="Q", articles=["first article", "second article"])
    assert "first article" in messages[0]["content"] and "second article" in messages[0]["content"]
    assert v2.call_params()["response_format"] == {"type": "json_object"}
    v10 = registry.get("support_answer", "v10")
    assert v10.render(question="hi") == [{"role": "user", "content": "Answer briefly: hi"}]
    assert v10.call_params() == {}  # no model, no params


def test_missing_variable_names_prompt_version_and_variable(registry: PromptRegistry) -> None:
    with pytest.raises(PromptError) as info:
        registry.get("support_answer", "v2").render(question="Q")
    message = str(info.value)
    assert "support_answer@v2" in message and "'articles'" in message
    assert f"{DATA / 'support_answer.yaml'}:22" in message  # the line of that message's content


def test_template_syntax_error_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "versions:\n  v1:\n    template: 'Hello {{ name '\n")
    prompt = PromptRegistry(tmp_path).get("bad")
    with pytest.raises(PromptError) as info:
        prompt.render(name="x")
    assert f"{path}:3" in str(info.value) and "syntax error" in str(info.value)


def test_sandbox_refuses_unsafe_attribute_access(tmp_path: Path) -> None:
    write(tmp_path, "evil.yaml", "versions: {v1: {template: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"}}\n")
    with pytest.raises(PromptError, match="evil@v1"):
        PromptRegistry(tmp_path).get("evil").render()


def test_autoescape_is_off_and_trailing_newline_kept(tmp_path: Path) -> None:
    write(tmp_path, "raw.yaml", 'versions: {v1: {template: "<b>{{ x }}</b>\\n"}}\n')
    assert PromptRegistry(tmp_path).get("raw").render(x="a & b") == [{"role": "user", "content": "<b>a & b</b>\n"}]


def test_render_records_prompt_use_on_running_test(registry: PromptRegistry) -> None:
    prompt = registry.get("support_answer", "v1")
    prompt.render(question="outside any test")  # no running test: nothing to record, no error
    recorder_module.begin_test("tests/x.py::t")
    try:
        prompt.render(question="a")
        prompt.render(question="b")
    finally:
        recorder = recorder_module.end_test()
    assert recorder is not None
    assert recorder.prompts == [{"name": "support_answer", "version": "v1", "hash": prompt.hash}]


def test_prompt_version_is_frozen(registry: PromptRegistry) -> None:
    prompt = registry.get("support_answer", "v1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        prompt.version = "v9"  # type: ignore[misc]
    assert hash(prompt) == hash(registry.get("support_answer", "v1"))


# ------------------------------------------------------------------------------------------- content hash
BLOCK_STYLE = """\
name: p
description: original
versions:
  v1:
    description: first
    model: openai/smollm2
    params:
      temperature: 0.5
      max_tokens: 64
    metadata:
      owner: a
    messages:
      - role: system
        content: "Be brief."
      - role: user
        content: "{{ q }}"
"""

# same content: flow style, other key order, comments, other quoting, other description/metadata
FLOW_STYLE = """\
# reformatted by hand
versions:
  v1:
    messages: [{content: 'Be brief.', role: system}, {role: user, content: '{{ q }}'}]   # same messages
    params: {max_tokens: 64, temperature: 0.5}
    metadata: {owner: somebody else}
    model: "openai/smollm2"
    description: rewritten description
description: changed too
name: p
"""


def hash_of(tmp_path: Path, text: str, sub: str) -> str:
    write(tmp_path / sub, "p.yaml", text)
    return PromptRegistry(tmp_path / sub).get("p", "v1").hash


def test_hash_ignores_formatting_descriptions_and_metadata(tmp_path: Path) -> None:
    original = hash_of(tmp_path, BLOCK_STYLE, "a")
    assert len(original) == 64 and int(original, 16) >= 0
    assert hash_of(tmp_path, FLOW_STYLE, "b") == original
    short = PromptRegistry(tmp_path / "a").get("p").short_hash
    assert short == original[:16] and len(short) == 16


@pytest.mark.parametrize(
    "old, new",
    [
        ('content: "{{ q }}"', 'content: "{{ q }} "'),  # template text (even whitespace)
        ("temperature: 0.5", "temperature: 0.6"),  # a parameter value
        ("max_tokens: 64", "max_tokens: 64\n      seed: 1"),  # a new parameter
        ("model: openai/smollm2", "model: openai/other"),  # the model
        ("- role: system", "- role: developer"),  # a role
    ],
)
def test_hash_changes_with_content(tmp_path: Path, old: str, new: str) -> None:
    assert old in BLOCK_STYLE
    assert hash_of(tmp_path, BLOCK_STYLE.replace(old, new), "changed") != hash_of(tmp_path, BLOCK_STYLE, "orig")


def test_single_template_hashes_like_one_user_message(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        "versions:\n  a: {template: 'Hi {{ x }}'}\n  b: {messages: [{role: user, content: 'Hi {{ x }}'}]}\n",
    )
    registry = PromptRegistry(tmp_path)
    assert registry.get("t", "a").hash == registry.get("t", "b").hash
    assert registry.get("t", "a").hash == content_hash([{"role": "user", "content": "Hi {{ x }}"}], None, {})


# ------------------------------------------------------------------------------------------- file errors
def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "versions:\n  v1:\n    template: [oops\n")
    with pytest.raises(PromptError) as info:
        PromptRegistry(tmp_path).get("p")
    assert str(path) in str(info.value) and "invalid YAML" in str(info.value)
    assert f"{path}:4:1" in str(info.value)  # the parser notices the unclosed list at end of input


def test_wrong_field_type_names_file_and_yaml_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        """\
        versions:
          v1: {template: hi}
          v2:
            messages:
              - {role: system, content: ok}
              - {role: 5, content: "{{ q }}"}
        """,
    )
    with pytest.raises(PromptError) as info:
        PromptRegistry(tmp_path).get("p")
    message = str(info.value)
    assert "versions.v2.messages[1].role" in message and f"{path}:6" in message


@pytest.mark.parametrize(
    "body, expected",
    [
        ("versions: {v1: {template: hi, temprature: 1}}\n", "unknown field 'versions.v1.temprature'"),
        ("versions: {v1: {params: {}}}\n", "exactly one of 'messages'"),
        ("versions: {v1: {template: hi, messages: [{role: user, content: hi}]}}\n", "exactly one of 'messages'"),
        ("versions: {v1: {messages: [{role: usr, content: hi}]}}\n", "versions.v1.messages[0].role"),
        ("versions: {v1: {template: 42}}\n", "versions.v1.template"),
        ("versions: {v1: {template: hi, params: [1]}}\n", "versions.v1.params"),
        ("description: no versions\n", "missing field 'versions'"),
        ("versions: {}\n", "'versions' is empty"),
        ("- a list\n", "must be a mapping"),
        ("name: other\nversions: {v1: {template: hi}}\n", "does not match the file name"),
        ("current: v9\nversions: {v1: {template: hi}}\n", "current version 'v9' is not defined; known versions: v1"),
        ("versions:\n  v1: {template: a}\n  v1: {template: b}\n", "duplicate key 'v1'"),
        ("versions: {v1: {template: !!python/object/apply:os.getcwd []}}\n", "!!python"),
        ("---\nversions: {}\n---\nversions: {}\n", "several YAML documents"),
    ],
)
def test_invalid_prompt_files(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "p.yaml", body)
    with pytest.raises(PromptError) as info:
        PromptRegistry(tmp_path).get("p")
    assert expected in str(info.value) and str(path) in str(info.value)


def test_duplicate_version_error_points_at_second_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "versions:\n  v1: {template: a}\n  v1: {template: b}\n")
    with pytest.raises(PromptError, match=f"{path}:3:3.*first defined on line 2"):
        PromptRegistry(tmp_path).get("p")


def test_numeric_version_keys_become_strings(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", "versions:\n  1: {template: a}\n  2: {template: b}\n  10: {template: c}\n")
    registry = PromptRegistry(tmp_path)
    assert registry.versions("p") == ["1", "2", "10"]
    assert registry.get("p").render() == [{"role": "user", "content": "c"}]


def test_importing_the_module_stays_cheap() -> None:
    code = "import sys, pytest_llmops.assets.prompts; print(sorted(m for m in ('jinja2', 'yaml', 'pydantic') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert out.stdout.strip() == "[]"
