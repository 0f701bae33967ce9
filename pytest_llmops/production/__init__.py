"""From production back to regression tests: import traces as golden cases with recordings, shadow comparisons.

``importer`` runs an import (readers in ``assets.traces``, golden files via ``assets.goldens.append``, the
recordings of the calls via ``recordings``, which uses the call layer's replay keys and cassette format);
``cli`` is the ``pytest-llmops goldens import`` command; ``shadow`` compares a candidate with the production
answers of imported cases.
"""
