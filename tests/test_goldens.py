"""Golden sets: the four loaders, every validation error, caching, hashing and approved-output updates."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from pytest_llmops.assets.goldens import GoldenCase, clear_cache, load_golden_set, update_approved
from pytest_llmops.errors import GoldenError

DATA = Path(__file__).parent / "data" / "goldens"
FORMATS = ["jsonl", "json", "yaml", "csv"]
IDS = ["refund-1", "login-2", "ship.3"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(GoldenError) as info:
        load_golden_set(path)
    return str(info.value)


@pytest.fixture
def copy_of(tmp_path: Path):
    def make(fmt: str) -> Path:
        target = tmp_path / f"faq.{fmt}"
        shutil.copyfile(DATA / f"faq.{fmt}", target)
        return target

    return make


# --------------------------------------------------------------------------------------------- loading
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_loads_the_same_cases(fmt: str) -> None:
    golden = load_golden_set(DATA / f"faq.{fmt}")
    assert golden.format == fmt and golden.case_ids == IDS and len(golden) == 3
    refund, login, ship = golden.cases
    assert refund.input == "How do I get a refund?" and refund.expected == "Use the refund form."
    assert refund.relevant_ids == ["kb-12", "kb-7"] and refund.tags == ["billing", "smoke"]
    assert login.input == {"question": "I cannot log in", "locale": "en"}
    assert login.contexts == ["Reset your password from the login page."] and login.metadata == {"priority": "high"}
    assert ship.relevant_ids == {"kb-3": 2, "kb-9": 0.5} and ship.approved == "It is on its way."
    assert refund.approved is None and login.expected is None


def test_hash_is_independent_of_format_and_layout(tmp_path: Path) -> None:
    hashes = {load_golden_set(DATA / f"faq.{fmt}").hash for fmt in FORMATS}
    assert len(hashes) == 1
    # key order, spacing and explicit defaults do not matter...
    lines = (DATA / "faq.jsonl").read_text(encoding="utf-8").splitlines()
    reordered = [
        json.dumps(dict(reversed(list(json.loads(line).items()))), indent=None, separators=(",", ":")) for line in lines
    ]
    reordered[0] = reordered[0][:-1] + ',"metadata":{},"approved":null}'
    assert load_golden_set(write(tmp_path, "r.jsonl", "\n\n".join(reordered) + "\n")).hash in hashes
    # ...the data does
    changed = (DATA / "faq.jsonl").read_text(encoding="utf-8").replace("refund form", "refund page")
    assert load_golden_set(write(tmp_path, "c.jsonl", changed)).hash not in hashes


def test_case_locations() -> None:
    assert [c.source_line for c in load_golden_set(DATA / "faq.json")] == [4, 11, 18]
    yaml_set = load_golden_set(DATA / "faq.yaml")
    assert [c.source_line for c in yaml_set] == [4, 11, 20]
    assert [c.pointer for c in yaml_set] == ["cases[0]", "cases[1]", "cases[2]"]
    assert yaml_set.cases[2].location == f"{DATA / 'faq.yaml'}:20"
    assert [c.source_line for c in load_golden_set(DATA / "faq.csv")] == [2, 3, 4]
    assert [c.pointer for c in load_golden_set(DATA / "faq.jsonl")] == ["line 1", "line 2", "line 3"]


def test_select_by_tags_any_of_and_limit() -> None:
    golden = load_golden_set(DATA / "faq.jsonl")
    assert [c.id for c in golden.select(tags=["smoke"])] == ["refund-1", "ship.3"]
    assert [c.id for c in golden.select(tags=["auth", "shipping"])] == ["login-2", "ship.3"]
    assert [c.id for c in golden.select(tags="auth")] == ["login-2"]
    assert [c.id for c in golden.select(limit=2)] == ["refund-1", "login-2"]
    assert [c.id for c in golden.select(tags=["smoke"], limit=1)] == ["refund-1"]
    assert golden.select(tags=["nobody"]) == []
    assert golden.get("login-2").id == "login-2" and golden.tags() == ["auth", "billing", "shipping", "smoke"]
    with pytest.raises(GoldenError, match="no case 'nope'"):
        golden.get("nope")
    with pytest.raises(GoldenError, match="limit"):
        golden.select(limit=-1)


def test_cache_by_mtime_and_size(tmp_path: Path) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "a", "input": "x"}\n')
    first = load_golden_set(path)
    assert load_golden_set(path) is first
    path.write_text('{"id": "a", "input": "xy"}\n{"id": "b", "input": "y"}\n', encoding="utf-8")
    second = load_golden_set(path)
    assert second is not first and second.case_ids == ["a", "b"]
    clear_cache()
    assert load_golden_set(path) is not second


def test_csv_list_metadata_and_nested_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "g.csv",
        """\
        id,input.question,input.locale,expected.answer,tags,contexts,relevant_ids,metadata.owner,metadata.note
        a,Hi?,en,Hello,"x; y ;",c1;c2,"{""d1"": 3}",team,
        b,Bye?,fr,,[],"[""only; one""]",,,n
        """,
    )
    a, b = load_golden_set(path).cases
    assert a.input == {"question": "Hi?", "locale": "en"} and a.expected == {"answer": "Hello"}
    assert a.tags == ["x", "y"] and a.contexts == ["c1", "c2"] and a.relevant_ids == {"d1": 3}
    assert a.metadata == {"owner": "team"}
    assert b.expected is None and b.tags == [] and b.contexts == ["only; one"] and b.metadata == {"note": "n"}


def test_yaml_root_list_and_json_root_list(tmp_path: Path) -> None:
    yaml_path = write(tmp_path, "g.yml", "- {id: a, input: x}\n- id: b\n  input: {k: v}\n")
    assert load_golden_set(yaml_path).case_ids == ["a", "b"]
    json_path = write(tmp_path, "g.json", '[{"id": "a", "input": "x"},\n {"id": "b", "input": "y"}]')
    assert [c.source_line for c in load_golden_set(json_path)] == [1, 2]


def test_golden_case_model_refuses_unknown_fields_directly() -> None:
    with pytest.raises(ValidationError, match="extra"):
        GoldenCase.model_validate({"id": "a", "input": "x", "extra": 1})
    with pytest.raises(ValidationError):
        GoldenCase(id="a", input="x").id = "b"  # frozen


def test_importing_goldens_does_not_import_yaml() -> None:
    code = "import sys, pytest_llmops.assets.goldens, pytest_llmops.assets.goldens.update; print('yaml' in sys.modules, 'filelock' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------------------------- errors
def test_invalid_json_line_and_other_errors_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "g.jsonl",
        """\
        {"id": "a", "input": "ok"}
        {"id": "b", "input": "missing brace"
        {"id": "c", "input": "x", "tags": "not-a-list"}
        [1, 2]
        """,
    )
    message = load_error(path)
    assert f"{path}:2: invalid JSON" in message
    assert f"{path}:3: field 'tags' must be a list of strings" in message
    assert f"{path}:4: a case must be an object" in message
    assert "(3 problems)" in message


@pytest.mark.parametrize(
    "line, expected",
    [
        ('{"id": 7, "input": "x"}', "field 'id' must be a string, got int 7"),
        ('{"id": "a b", "input": "x"}', "is not id-safe"),
        ('{"id": "' + "a" * 101 + '", "input": "x"}', "at most 100"),
        ('{"id": "-a", "input": "x"}', "is not id-safe"),
        ('{"input": "x"}', "field 'id' is missing"),
        ('{"id": "a"}', "field 'input' is missing"),
        ('{"id": "a", "input": 3}', "field 'input' must be a string or a mapping, got int 3"),
        ('{"id": "a", "input": "x", "expected": [1]}', "field 'expected' must be a string or a mapping"),
        ('{"id": "a", "input": "x", "contexts": ["ok", 2]}', "field 'contexts' item [1] must be a string"),
        ('{"id": "a", "input": "x", "relevant_ids": {"d": true}}', "grade of 'd' must be a finite number"),
        ('{"id": "a", "input": "x", "relevant_ids": "d1"}', "must be a list of ids or a mapping"),
        ('{"id": "a", "input": "x", "metadata": []}', "field 'metadata' must be a mapping"),
        ('{"id": "a", "input": "x", "tag": ["t"]}', "unknown field 'tag'; allowed fields: id, input, expected"),
        ('{"id": "a", "id": "b", "input": "x"}', "duplicate key 'id'"),
    ],
)
def test_field_errors_name_line_and_field(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "first", "input": "fine"}\n' + line + "\n")
    message = load_error(path)
    assert f"{path}:2: " in message and expected in message


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, "g.jsonl", '{"id": "a", "input": "x"}\n\n{"id": "b", "input": "y"}\n{"id": "a", "input": "z"}\n'
    )
    message = load_error(path)
    assert f"{path}:4: duplicate id 'a' (first used on line 1)" in message


def test_many_errors_are_capped(tmp_path: Path) -> None:
    path = write(tmp_path, "g.jsonl", "".join(f'{{"id": "bad id {i}", "input": "x"}}\n' for i in range(30)))
    message = load_error(path)
    assert "(30 problems)" in message and "... and 10 more" in message and f"{path}:20:" in message
    assert f"{path}:21:" not in message


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "g.txt", "id,input\n"))
    assert "'.txt'" in message and ".jsonl, .json, .yaml, .yml, .csv" in message


@pytest.mark.parametrize(
    "name, text",
    [
        ("e.jsonl", "\n\n"),
        ("e.json", "[]"),
        ("e2.json", '{"cases": []}'),
        ("e.yaml", "# nothing\n"),
        ("e2.yaml", "cases: []\n"),
        ("e.csv", "id,input\n"),
        ("e2.csv", ""),
    ],
)
def test_empty_set_is_an_error(tmp_path: Path, name: str, text: str) -> None:
    assert "has no cases" in load_error(write(tmp_path, name, text))


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in load_error(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(
    "header, expected",
    [
        ("input,tags", "no 'id' column"),
        ("id,tags", "no 'input' column"),
        ("id,input,colour", "unknown column 'colour'"),
        ("id,input,input", "appears more than once"),
        ("id,input,input.q", "not both"),
    ],
)
def test_csv_header_errors_name_the_column(tmp_path: Path, header: str, expected: str) -> None:
    path = write(tmp_path, "g.csv", header + "\na,b,c\n")
    message = load_error(path)
    assert f"{path}:1: " in message and expected in message


def test_csv_row_errors_name_the_row_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.csv", 'id,input,tags\nok,"multi\nline input",t\nbad id,x,\nc,x,"[broken"\nd,x,t,extra\n')
    message = load_error(path)
    assert f"{path}:4: field 'id'" in message  # the row after a two-line row starts on line 4
    assert f"{path}:5: column 'tags': cell starts like JSON but is not valid JSON" in message
    assert f"{path}:6: the row has 4 cells but the header has 3 columns" in message


def test_yaml_python_tag_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, "g.yaml", f'- id: a\n  input: !!python/object/apply:os.system ["touch {marker}"]\n')
    message = load_error(path)
    assert "!!python" in message and "refused" in message and f"{path}:2" in message
    assert not marker.exists()


def test_yaml_errors_carry_the_line_of_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "g.yaml",
        """\
        cases:
          - id: a
            input: x
          - id: b
            input: y
            tags:
              - ok
              - [nested]
          - {id: c, input: x, colour: red}
        """,
    )
    message = load_error(path)
    assert f"{path}:7: field 'tags' item [1] must be a string" in message  # line of `tags:`' value
    assert f"{path}:9: unknown field 'colour'" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("cases:\n  - id: a\n    input: [unclosed\n", ":4: invalid YAML"),
        ("- {id: a, input: x}\n- {id: a, input: y}\n", ":2: duplicate id 'a' (first used on line 1)"),
        ("cases: {a: 1}\n", "'cases' must be a list"),
        ("cases: []\ntitle: x\n", "unknown top-level key 'title'"),
        ("just text\n", "expected a list of cases"),
    ],
)
def test_yaml_structure_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in load_error(write(tmp_path, "g.yaml", text))


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "g.json", '[\n  {"id": "a", "input": "x"},\n  {"id": "b" "input": "y"}\n]\n')
    message = load_error(path)
    assert f"{path}:3: invalid JSON (column 14)" in message


def test_json_case_errors_name_the_case_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.json", '{"cases": [\n  {"id": "a", "input": "x"},\n\n  {"id": "b", "input": 5}\n]}\n')
    assert f"{path}:4: field 'input'" in load_error(path)


# --------------------------------------------------------------------------------------------- approved outputs
NEW = {"login-2": "Reset it.\nThen log in.", "ship.3": {"status": "shipped", "eta_days": 2}}


@pytest.mark.parametrize("fmt", FORMATS)
def test_update_round_trip(copy_of, fmt: str) -> None:
    path = copy_of(fmt)
    before = load_golden_set(path)
    assert update_approved(path, NEW) == ["login-2", "ship.3"]
    after = load_golden_set(path)
    assert after.case_ids == IDS
    assert after.get("login-2").approved == NEW["login-2"]
    assert after.get("ship.3").approved == NEW["ship.3"]
    for case_id in IDS:  # nothing but `approved` changed
        old, new = before.get(case_id).data(), after.get(case_id).data()
        old.pop("approved"), new.pop("approved")
        assert old == new
    assert after.get("refund-1").approved is None
    # approving the same values again changes nothing and does not touch the file
    stat = path.stat()
    content = path.read_bytes()
    assert update_approved(path, NEW) == []
    assert path.read_bytes() == content and path.stat().st_mtime_ns == stat.st_mtime_ns


def test_update_jsonl_rewrites_only_changed_lines(copy_of) -> None:
    path = copy_of("jsonl")
    original = path.read_text(encoding="utf-8").splitlines(keepends=True)
    update_approved(path, {"login-2": "ok"})
    updated = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert updated[0] == original[0] and updated[2] == original[2]
    assert updated[1] == original[1][: -len("}\n")] + ', "approved": "ok"}\n'
    update_approved(path, {"ship.3": "again"})  # an existing approved value is replaced in place
    assert (
        path.read_text(encoding="utf-8").splitlines()[2].endswith('"tags": ["shipping", "smoke"], "approved": "again"}')
    )


def test_update_jsonl_keeps_crlf_compact_style_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_bytes(b'{"id":"a","input":"x"}\r\n{"id":"b","input":"\\u00e9"}')
    update_approved(path, {"a": "A", "b": "B"})
    assert path.read_bytes() == b'{"id":"a","input":"x","approved":"A"}\r\n{"id":"b","input":"\\u00e9","approved":"B"}'


def test_update_json_keeps_other_cases_and_layout(copy_of) -> None:
    path = copy_of("json")
    original = path.read_text(encoding="utf-8")
    update_approved(path, {"login-2": "ok", "ship.3": "done"})
    updated = path.read_text(encoding="utf-8")
    refund_block = original[
        original.index('    {\n      "id": "refund-1"') : original.index('    {\n      "id": "login-2"')
    ]
    assert refund_block in updated  # untouched case, byte for byte
    assert '      "metadata": {"priority": "high"},\n      "approved": "ok"\n    },' in updated
    assert '"tags": ["shipping", "smoke"], "approved": "done"}\n  ]\n}\n' in updated
    assert updated.startswith('{\n  "description": "FAQ golden set",\n')
    # only added text: removing it gives back the original
    assert (
        updated.replace(',\n      "approved": "ok"', "").replace(
            '"approved": "done"', '"approved": "It is on its way."'
        )
        == original
    )


def test_update_json_multiline_value_uses_detected_indent(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text('[\n\t{\n\t\t"id": "a",\n\t\t"input": "x"\n\t}\n]\n', encoding="utf-8")
    update_approved(path, {"a": {"k": [1]}})
    assert path.read_text(encoding="utf-8") == (
        '[\n\t{\n\t\t"id": "a",\n\t\t"input": "x",\n\t\t"approved": {\n\t\t\t"k": [\n\t\t\t\t1\n\t\t\t]\n\t\t}\n\t}\n]\n'
    )


def test_update_yaml_keeps_comments_and_untouched_blocks(copy_of) -> None:
    path = copy_of("yaml")
    original = path.read_text(encoding="utf-8")
    update_approved(path, {"refund-1": "Use the form.", "ship.3": "multi\nline"})
    updated = path.read_text(encoding="utf-8")
    for line in original.splitlines():
        if line.strip() != "approved: It is on its way.":
            assert line in updated.splitlines()  # every comment and every other line is still there
    assert "    relevant_ids: [kb-12, kb-7]\n    approved: Use the form.\n\n  # auth\n" in updated
    assert "    approved: |-\n      multi\n      line\n# end of set\n" in updated
    login_block = original[original.index("  - id: login-2") : original.index("  - id: ship.3")]
    assert login_block in updated


def test_update_yaml_flow_cases_root_list_and_fallback(tmp_path: Path) -> None:
    path = write(
        tmp_path, "g.yaml", "# flow items\n- {id: a, input: x}  # first\n- id: b\n  input: y\n  tags:\n  - t\n"
    )
    update_approved(path, {"a": "A", "b": ["l1", "l2"]})
    assert path.read_text(encoding="utf-8") == (
        "# flow items\n- {id: a, input: x, approved: A}  # first\n- id: b\n  input: y\n  tags:\n  - t\n"
        "  approved:\n  - l1\n  - l2\n"
    )
    flow = write(tmp_path, "f.yaml", "# comment lost on re-dump\ncases: [{id: a, input: x}, {id: b, input: y}]\n")
    update_approved(flow, {"b": "B"})
    assert load_golden_set(flow).get("b").approved == "B" and load_golden_set(flow).case_ids == ["a", "b"]


def test_update_csv_adds_column_and_keeps_other_rows(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(b'id,input,tags\r\na,"quoted, text",x;y\r\nb,plain,\r\nc,"two\r\nlines",z\r\n')
    assert update_approved(path, {"b": 'say "hi", twice'}) == ["b"]
    assert path.read_bytes() == (
        b'id,input,tags,approved\r\na,"quoted, text",x;y,\r\nb,plain,,"say ""hi"", twice"\r\nc,"two\r\nlines",z,\r\n'
    )
    assert load_golden_set(path).get("c").input == "two\r\nlines"


def test_update_csv_existing_column(copy_of) -> None:
    path = copy_of("csv")
    original = path.read_text(encoding="utf-8").splitlines(keepends=True)
    update_approved(path, {"ship.3": "Delivered."})
    updated = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert updated[:3] == original[:3]
    assert updated[3] == original[3].replace("It is on its way.", "Delivered.")


def test_update_errors_leave_the_file_alone(copy_of) -> None:
    path = copy_of("jsonl")
    content = path.read_bytes()
    with pytest.raises(GoldenError, match="unknown case id.*'nope'"):
        update_approved(path, {"login-2": "x", "nope": "y"})
    with pytest.raises(GoldenError, match="not plain JSON"):
        update_approved(path, {"login-2": object()})
    with pytest.raises(GoldenError, match="unsupported file extension"):
        update_approved(path.with_suffix(".txt"), {"a": 1})
    assert path.read_bytes() == content


def test_update_keeps_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes("\ufeffid,input\na,é\n".encode("utf-8"))
    update_approved(path, {"a": "ü"})
    assert path.read_bytes() == "\ufeffid,input,approved\na,é,ü\n".encode("utf-8")


def _approve_some(path: str, ids: list[str]) -> None:
    for case_id in ids:
        update_approved(Path(path), {case_id: f"answer for {case_id}"})


@pytest.mark.parametrize("fmt", ["jsonl", "yaml"])
def test_concurrent_updates_of_different_cases(tmp_path: Path, fmt: str) -> None:
    ids = [f"c{i}" for i in range(12)]
    if fmt == "jsonl":
        text = "".join(json.dumps({"id": i, "input": "q"}) + "\n" for i in ids)
    else:
        text = "".join(f"- id: {i}\n  input: q  # keep me\n" for i in ids)
    path = write(tmp_path, f"g.{fmt}", text)
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    workers = [context.Process(target=_approve_some, args=(str(path), ids[k::3])) for k in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    golden = load_golden_set(path)
    assert {c.id: c.approved for c in golden} == {i: f"answer for {i}" for i in ids}
    assert golden.case_ids == ids
    if fmt == "yaml":
        assert path.read_text(encoding="utf-8").count("# keep me") == len(ids)


def test_update_json_unusual_layout_rewrites_only_that_case(tmp_path: Path) -> None:
    path = write(tmp_path, "g.json", '[{"id": "a",\n  "input": "x"}, {"id": "b", "input": "y"}]\n')
    update_approved(path, {"a": "A"})
    assert path.read_text(encoding="utf-8") == (
        '[{\n  "id": "a",\n  "input": "x",\n  "approved": "A"\n}, {"id": "b", "input": "y"}]\n'
    )


def test_update_is_verified_before_writing(copy_of, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmops.assets.goldens import update as golden_update

    path = copy_of("jsonl")
    content = path.read_bytes()
    broken = lambda text, updates: text.replace("refund form", "refund page")  # noqa: E731 - a buggy editor
    monkeypatch.setitem(golden_update._EDITORS, "jsonl", broken)
    with pytest.raises(GoldenError, match="file left untouched"):
        update_approved(path, {"login-2": "x"})
    assert path.read_bytes() == content
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind
