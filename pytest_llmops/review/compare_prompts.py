"""Prompt and golden-set changes: edited without version bump, new or gone versions, golden files changed."""

from __future__ import annotations

from .findings import Finding
from .load import ReviewRecord
from .views import TestView

PromptKey = tuple[str, str]  # (name, version)


def _prompt_hashes(record: ReviewRecord, views: dict[str, TestView]) -> dict[PromptKey, set[str]]:
    """Every content hash seen per name@version, in the run's prompt list and in its tests."""
    found: dict[PromptKey, set[str]] = {}
    for p in record.meta.prompts:
        found.setdefault((p.name, p.version), set()).add(p.hash)
    for view in views.values():
        for name, version, digest in view.prompts:
            found.setdefault((name, version), set()).add(digest)
    return found


def prompt_changes(base_record: ReviewRecord, head_record: ReviewRecord, base_views: dict[str, TestView],
                   head_views: dict[str, TestView]) -> list[Finding]:
    """Findings of kind prompt-edit, prompt-new, prompt-gone and golden-edit (unsorted)."""
    base, head = _prompt_hashes(base_record, base_views), _prompt_hashes(head_record, head_views)
    return [*_edited(base, head, head_views), *_new_and_gone(base, head), *_golden_edits(base_record, head_record)]


def _edited(base: dict[PromptKey, set[str]], head: dict[PromptKey, set[str]],
            head_views: dict[str, TestView]) -> list[Finding]:
    users: dict[PromptKey, list[str]] = {}
    for view in head_views.values():
        for name, version, _ in view.prompts:
            users.setdefault((name, version), []).append(view.nodeid)
    found = []
    for key in sorted(base.keys() & head.keys()):
        if base[key] != head[key]:
            used_by = sorted(users.get(key, []))
            shown = ", ".join(used_by[:3]) + (f" and {len(used_by) - 3} more" if len(used_by) > 3 else "")
            found.append(Finding("prompt-edit", f"{key[0]}@{key[1]}", ", ".join(h[:12] for h in sorted(base[key])),
                                 ", ".join(h[:12] for h in sorted(head[key])),
                                 "content changed, version not bumped" + (f"; used by {shown}" if shown else "")))
    return found


def _new_and_gone(base: dict[PromptKey, set[str]], head: dict[PromptKey, set[str]]) -> list[Finding]:
    found = []
    base_names = {name for name, _ in base}
    for key in sorted(head.keys() - base.keys()):
        note = "new version" if key[0] in base_names else "new prompt"
        old = sorted(v for n, v in base if n == key[0])
        found.append(Finding("prompt-new", f"{key[0]}@{key[1]}", ", ".join(old) or "—", key[1], note))
    for key in sorted(base.keys() - head.keys()):
        found.append(Finding("prompt-gone", f"{key[0]}@{key[1]}", key[1], "—", "not used in head"))
    return found


def _golden_edits(base_record: ReviewRecord, head_record: ReviewRecord) -> list[Finding]:
    found = []
    base_sets = {g.path: g for g in base_record.meta.golden_sets}
    for g in sorted(head_record.meta.golden_sets, key=lambda g: g.path):
        old = base_sets.get(g.path)
        if old is not None and old.hash != g.hash:
            found.append(Finding("golden-edit", g.path, f"{old.cases} cases", f"{g.cases} cases",
                                 "golden set file changed: its cases are compared as they are now"))
    return found
