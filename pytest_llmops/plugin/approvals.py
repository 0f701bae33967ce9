"""Approved outputs, the syrupy idea for LLMs: compare an output with the golden case's approved one.

``llmops.approved(output)`` passes when the output equals the case's ``approved`` value (or is at least
``min_similarity`` similar to it).  ``--llmops-update-goldens`` writes current outputs into the golden file
instead and reports which cases changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..record.recorder import TestRecorder
from .state import RunState

if TYPE_CHECKING:
    import pytest

class RecorderWithApprovals:
    """The ``llmops`` fixture: the test's recorder plus ``approved()``; attribute access goes to the recorder."""

    def __init__(self, recorder: TestRecorder, state: RunState, request: pytest.FixtureRequest) -> None:
        self._recorder = recorder
        self._state = state
        self._request = request

    @classmethod
    def wrap(cls, recorder: TestRecorder, state: RunState, request: pytest.FixtureRequest) -> Any:
        return cls(recorder, state, request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)

    def approved(self, output: Any, *, min_similarity: float | None = None) -> None:
        from .assets import GOLDEN_KEY

        node = self._request.node
        ref = node.stash.get(GOLDEN_KEY, None)
        if ref is None:
            raise AssertionError(
                f"{node.nodeid}: llmops.approved() compares with the golden case's approved output; "
                "the test needs @pytest.mark.golden(...) and the golden_case fixture"
            )
        golden_set, case = ref
        if self._state.option("update_goldens"):
            from ..assets.goldens import update_approved

            changed = update_approved(Path(golden_set.path), {case.id: output})
            self._recorder.note(f"approved output {'updated' if changed else 'unchanged'} for case {case.id}")
            return
        if case.approved is None:
            raise AssertionError(
                f"golden case {case.id!r} in {golden_set.path} has no approved output yet; review this output and "
                f"run pytest with --llmops-update-goldens to store it:\n{str(output)[:500]}"
            )
        if min_similarity is None:
            self._recorder.metric("approved_match", float(output == case.approved), min=1.0, scorer="approved")
            if output != case.approved:
                raise AssertionError(
                    f"output differs from the approved output of case {case.id!r} ({golden_set.path}):\n"
                    f"  approved: {str(case.approved)[:300]}\n  actual:   {str(output)[:300]}\n"
                    "run with --llmops-update-goldens to approve the new output"
                )
            return
        from ..scorers.similarity import similarity

        score = similarity(str(output), str(case.approved))
        result = self._recorder.metric("approved_similarity", score, min=min_similarity, scorer="approved")
        if result.passed is False:
            raise AssertionError(
                f"output is {score:.3f} similar to the approved output of case {case.id!r} (need {min_similarity}); "
                "run with --llmops-update-goldens to approve the new output"
            )
