"""schemathesis fuzzes the live keyed server from its own OpenAPI schema: no request may get a 5xx.

Each operation gets generated requests in schemathesis's two modes, valid (positive: 60 per
operation) and schema-violating (negative: 20 per operation; slower to generate), sent with an admin
key so that every operation is reached past the role checks: about 800 requests in the default
suite. ``-m slow`` sends 500 + 200 per operation (thousands); ``LEIAN_FUZZ_SCALE=N`` multiplies
both. Each run prints how many requests it sent and their statuses.

Why hypothesis is driven directly instead of ``schemathesis.pytest.from_fixture``: that loader
reads a private pytest attribute that pytest 9.2 removed (``Function._nodeid``).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.service.conftest import Keyed

SCALE = float(os.environ.get("LEIAN_FUZZ_SCALE", "1"))
EXAMPLES = {GenerationMode.POSITIVE: int(60 * SCALE), GenerationMode.NEGATIVE: int(20 * SCALE)}
SLOW_EXAMPLES = {GenerationMode.POSITIVE: int(500 * SCALE), GenerationMode.NEGATIVE: int(200 * SCALE)}


@pytest.fixture(scope="module")
def api_schema(keyed: Keyed) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{keyed.base}/openapi.json")


def fuzz(api_schema: schemathesis.BaseSchema, keyed: Keyed, mode: GenerationMode, examples: int) -> Counter[str]:
    """Send ``examples`` generated requests per operation; fail (shrunk by hypothesis) on any 5xx."""
    sent: Counter[str] = Counter()
    headers = keyed.headers("admin")
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate], derandomize=True, database=None)
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=keyed.base, headers=headers, timeout=120)
            sent[f"{case.operation.label} {response.status_code}"] += 1
            case.validate_response(response, checks=[not_a_server_error])
            assert response.status_code < 500, response.text

        try:
            run()
        except Unsatisfiable:  # negative mode: nothing in the operation can be made invalid (GET /healthz)
            assert mode == GenerationMode.NEGATIVE, operation.label
    total = sum(sent.values())
    by_status = Counter(key.rsplit(" ", 1)[1] for key in sent.elements())
    print(f"\nschemathesis {mode.value}: {total} requests over {len(operations)} operations, statuses {dict(sorted(by_status.items()))}")
    return sent


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(api_schema: schemathesis.BaseSchema, keyed: Keyed, mode: GenerationMode) -> None:
    sent = fuzz(api_schema, keyed, mode, EXAMPLES[mode])
    assert sum(sent.values()) >= 5 * EXAMPLES[mode]  # hypothesis stops early only for operations with few distinct inputs


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_thousands(api_schema: schemathesis.BaseSchema, keyed: Keyed, mode: GenerationMode) -> None:
    assert sum(fuzz(api_schema, keyed, mode, SLOW_EXAMPLES[mode]).values()) >= 5 * SLOW_EXAMPLES[mode]
