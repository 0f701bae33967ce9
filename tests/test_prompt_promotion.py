"""Promote and roll back prompt versions with evidence (issue 19, item 4).

Unit tests of the in-place YAML editor and the evidence rules, then real pytest runs (pytester) over HTTP to
the loopback server whose run records are the evidence and the baseline of ``pytest-llmops prompts promote``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from inner_runs import configure, run

from pytest_llmops.assets.promotion import (
    PromotionRefused,
    collect_evidence,
    promote,
    promoted_stack,
    refusal_reasons,
    rollback,
)
from pytest_llmops.assets.prompt_edit import edit_prompt_text
from pytest_llmops.assets.prompts import PromptRegistry
from pytest_llmops.cli import main
from pytest_llmops.errors import PromptError
from pytest_llmops.testing.loopback import LoopbackServer

pytest.importorskip("litellm")

PROMPT = """\
# Support answers -- owned by the support team.
name: support   # must match the file name
description: Answer a customer question
current: v1     # the version production serves

versions:
  v1:
    # the first wording, short answers
    template: "Answer briefly: {{ question }}"
  v2:
    params: {temperature: 0}
    messages:
      - {role: system, content: "You are a helpful support agent."}   # tone
      - {role: user, content: "{{ question }}"}
# end of versions
"""

ENTRY = {"action": "promote", "version": "v2", "hash": "ab" * 32, "at": "2026-12-02T01:00:00Z"}


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """Lines of ``old`` missing from ``new`` and lines of ``new`` not in ``old`` (order-aware via difflib)."""
    import difflib

    removed, added = [], []
    for line in difflib.ndiff(old.splitlines(keepends=True), new.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


# -- the editor ---------------------------------------------------------------------------------------------

def test_edit_changes_only_the_current_line_and_appends_history() -> None:
    new = edit_prompt_text(PROMPT, "v2", ENTRY)
    removed, added = changed_lines(PROMPT, new)
    assert removed == ["current: v1     # the version production serves\n"]
    assert added[0] == "current: v2     # the version production serves\n"
    assert added[1:] == ["promotions:\n", "  - action: promote\n", "    version: v2\n", f"    hash: {'ab' * 32}\n",
                         "    at: '2026-12-02T01:00:00Z'\n"]
    assert new.startswith(PROMPT.replace("current: v1 ", "current: v2 "))  # every other byte kept, in place
    data = yaml.safe_load(new)
    assert data["current"] == "v2" and data["promotions"] == [ENTRY]

    again = edit_prompt_text(new, "v1", {**ENTRY, "action": "rollback", "version": "v1"})
    removed, added = changed_lines(new, again)
    assert removed == ["current: v2     # the version production serves\n"]
    assert yaml.safe_load(again)["promotions"][-1]["action"] == "rollback"
    assert again.startswith(new.replace("current: v2 ", "current: v1 "))


def test_edit_inserts_current_before_versions_and_keeps_quotes_and_indent() -> None:
    no_current = PROMPT.replace("current: v1     # the version production serves\n", "")
    new = edit_prompt_text(no_current, "v2", ENTRY)
    assert "current: v2\n\nversions:" not in new and "current: v2\nversions:" in new
    assert changed_lines(no_current, new)[0] == []  # nothing removed

    quoted = PROMPT.replace("current: v1 ", "current: 'v1'")
    assert "current: 'v2'    # the version" in edit_prompt_text(quoted, "v2", ENTRY)
    double = PROMPT.replace("current: v1 ", 'current: "v1"')
    assert 'current: "v2"    # the version' in edit_prompt_text(double, "v2", ENTRY)
    assert "current: '1.0'" in edit_prompt_text(PROMPT, "1.0", ENTRY)  # would read back as a float unquoted

    zero_indent = PROMPT + "promotions:\n- action: promote   # first\n  version: v1\n# trailing comment\n"
    new = edit_prompt_text(zero_indent, "v2", ENTRY)
    assert new.endswith("  version: v1\n- action: promote\n  version: v2\n"
                        f"  hash: {'ab' * 32}\n  at: '2026-12-02T01:00:00Z'\n# trailing comment\n")
    middle = PROMPT.replace("# end of versions\n", "promotions: []   # none yet\nname2: x\n")
    edited = yaml.safe_load(edit_prompt_text(middle, "v2", ENTRY))
    assert edited["promotions"] == [ENTRY] and edited["name2"] == "x"


def test_edit_refuses_layouts_it_cannot_edit_in_place() -> None:
    with pytest.raises(PromptError, match="block list"):
        edit_prompt_text(PROMPT + "promotions: [{action: promote, version: v1}]\n", "v2", ENTRY)
    with pytest.raises(PromptError, match="block mapping"):
        edit_prompt_text("{versions: {v1: {template: x}}}\n", "v1", ENTRY)
    with pytest.raises(PromptError, match="invalid YAML"):
        edit_prompt_text("versions: [\n", "v1", ENTRY)


# -- evidence rules -----------------------------------------------------------------------------------------

def test_evidence_rules(tmp_path: Path) -> None:
    (tmp_path / "support.yaml").write_text(PROMPT, encoding="utf-8")
    v2 = PromptRegistry(tmp_path).get("support", "v2")

    def test(nodeid: str, outcome: str, version: str = "v2", digest: str | None = None) -> dict[str, object]:
        return {"nodeid": nodeid, "outcome": outcome,
                "prompts": [{"name": "support", "version": version, "hash": digest or v2.hash}]}

    ok = collect_evidence(v2, [test("a", "passed"), test("b", "skipped"), test("c", "passed", "v1")], "r.json", "x")
    assert ok.passed == ["a"] and refusal_reasons(v2, ok) == []
    none = collect_evidence(v2, [test("c", "passed", "v1"), test("b", "skipped")], "r.json", "x")
    assert "r.json ran no test of support@v2" in refusal_reasons(v2, none)[0]
    failing = collect_evidence(v2, [test("a", "passed"), test("d", "failed"), test("e", "error")], "r.json", "x")
    assert refusal_reasons(v2, failing) == ["2 test(s) of support@v2 did not pass in r.json: d, e"]
    stale = collect_evidence(v2, [test("a", "passed", digest="0" * 64)], "r.json", "x")
    assert "edited after the run" in refusal_reasons(v2, stale)[0]
    ok.regressions = ["fail-on regression: 1 regression(s)"]
    ok.interrupted = True
    reasons = refusal_reasons(v2, ok)
    assert "interrupted" in reasons[0] and reasons[1] == "baseline diff: fail-on regression: 1 regression(s)"


def test_rollback_stack_and_refusals(tmp_path: Path) -> None:
    assert [e["version"] for e in promoted_stack([
        {"action": "promote", "version": "v2"}, {"action": "promote", "version": "v3"},
        {"action": "rollback", "version": "v2"}, {"action": "promote", "version": "v4"},
    ])] == ["v2", "v4"]
    path = tmp_path / "support.yaml"
    path.write_text(PROMPT, encoding="utf-8")
    registry = PromptRegistry(tmp_path)
    with pytest.raises(PromotionRefused, match="no promotion in force"):
        rollback(registry, "support")
    v2 = registry.get("support", "v2")
    evidence = collect_evidence(v2, [{"nodeid": "t", "outcome": "passed", "prompts": [v2.to_dict()]}], "r.json", "d")
    promote(registry, "support", "v2", evidence)
    path.write_text(path.read_text().replace("current: v2 ", "current: v1 "), encoding="utf-8")  # hand edit
    registry.clear_cache()
    with pytest.raises(PromotionRefused, match="edited by hand"):
        rollback(registry, "support")
    with pytest.raises(PromotionRefused, match="already current"):
        promote(registry, "support", "v1", evidence)


# -- through real runs and the command ------------------------------------------------------------------------

SUITE = """
import os
import pytest

@pytest.mark.prompt("support", versions=["v1", "v2"])
def test_answer(prompt, llm):
    reply = llm.complete(prompt.render(question="How do I reset my password?"))
    assert not (os.environ.get("BREAK_V2") and prompt.version == "v2"), "v2 gives a wrong answer"
    assert reply.text

def test_refund_policy(llm):
    reply = llm.complete("What is the refund window?")
    assert not os.environ.get("BREAK_REFUNDS"), "refund answer regressed"
    assert reply.text
"""


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def record(pytester: pytest.Pytester, name: str, *args: str) -> Path:
    result, _ = run(pytester, "--llmops-record-mode=off", *args)
    target = pytester.path / name
    (pytester.path / "r.json").replace(target)
    assert result.ret in (0, 1)
    return target


def test_promote_and_rollback_on_a_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-promotion")
    (pytester.path / "prompts").mkdir()
    prompt_file = pytester.path / "prompts" / "support.yaml"
    prompt_file.write_text(PROMPT, encoding="utf-8")
    pytester.makepyfile(test_support=SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        base = record(pytester, "base.json")
        only_v1 = record(pytester, "only_v1.json", "-k", "v1 or refund")
        monkeypatch.setenv("BREAK_V2", "1")
        broken = record(pytester, "broken.json")
        monkeypatch.delenv("BREAK_V2")
        monkeypatch.setenv("BREAK_REFUNDS", "1")
        regressed = record(pytester, "regressed.json")
        monkeypatch.delenv("BREAK_REFUNDS")
        good = record(pytester, "good.json")

    def promote_cli(*extra: str) -> tuple[int, str, str]:
        return cli("prompts", "promote", "support", "v2", *extra, capsys=capsys)

    assert promote_cli()[0] == 2  # no evidence: usage
    status, _, err = promote_cli("--evidence", str(only_v1))
    assert status == 1 and "ran no test of support@v2" in err
    status, _, err = promote_cli("--evidence", str(broken))
    assert status == 1 and "1 test(s) of support@v2 did not pass" in err and "test_answer[support@v2]" in err
    status, _, err = promote_cli("--evidence", str(regressed), "--baseline", str(base))
    assert status == 1 and "baseline diff: fail-on flip: 1 unconfirmed flip(s)" in err and "test_refund_policy" in err
    assert prompt_file.read_text(encoding="utf-8") == PROMPT  # every refusal left the file untouched
    status, _, err = promote_cli("--evidence", str(good), "--fail-on", "regression")
    assert status == 2 and "--fail-on needs --baseline" in err

    status, out, _ = promote_cli("--evidence", str(good), "--baseline", str(base))
    assert status == 0 and "current is now v2 (was v1)" in out
    promoted = prompt_file.read_text(encoding="utf-8")
    assert promoted.startswith(PROMPT.replace("current: v1 ", "current: v2 "))  # comments byte-for-byte
    registry = PromptRegistry(pytester.path / "prompts")
    assert registry.current_version("support") == "v2"
    [entry] = registry.promotions("support")
    assert entry["evidence_sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    assert entry["baseline_sha256"] == hashlib.sha256(base.read_bytes()).hexdigest()
    assert entry["hash"] == registry.get("support", "v2").hash and entry["tests_passed"] == 1
    assert entry["fail_on"] == "regression,flip" and entry["previous"] == "v1" and entry["at"].endswith("Z")
    status, out, _ = cli("prompts", "history", "support", capsys=capsys)
    assert status == 0 and json.loads(out.splitlines()[0])["evidence_sha256"] == entry["evidence_sha256"]

    status, out, _ = cli("prompts", "rollback", "support", capsys=capsys)
    assert status == 0 and "current is now v1 (was v2)" in out
    rolled = prompt_file.read_text(encoding="utf-8")
    assert rolled.startswith(PROMPT)  # the original file, byte for byte, then the history
    assert PromptRegistry(pytester.path / "prompts").current_version("support") == "v1"
    assert [e["action"] for e in PromptRegistry(pytester.path / "prompts").promotions("support")] == [
        "promote", "rollback"]
    status, _, err = cli("prompts", "rollback", "support", capsys=capsys)
    assert status == 1 and "no promotion in force" in err
    assert prompt_file.read_text(encoding="utf-8") == rolled
