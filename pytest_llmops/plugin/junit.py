"""JUnit glue: with ``--junitxml``, each llmops test's figures become ``<property>`` elements of its testcase.

The same route as pytest's ``record_property``: pairs appended to the test report's ``user_properties``,
which pytest's junitxml writes for the teardown report (also for reports that come from xdist workers).
The names and values are :func:`pytest_llmops.review.export_junit.test_properties` (``llmops.metric.<name>``,
``llmops.cost_usd``, ``llmops.sampling.pass_rate``, ``llmops.prompt.<name>.hash``...).
"""

from __future__ import annotations

import pytest


def add_properties(config: pytest.Config, report: pytest.TestReport) -> None:
    """On the report that carries the test's llmops data, add its properties when JUnit XML is written."""
    data = getattr(report, "llmops", None)
    if not data or not getattr(config.option, "xmlpath", None):
        return
    from ..review.export_junit import test_properties

    known = {name for name, _ in report.user_properties}
    report.user_properties.extend((name, value) for name, value in test_properties(data) if name not in known)
