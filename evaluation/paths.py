"""Where the shared benchmark data is: a module of its own with no heavy imports, so `leian --help` and the
CLI's registration of the benchmark commands (evaluation.cli) load nothing but this."""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable naming the shared benchmark data folder (every `--benchmark-data` default).
BENCHMARK_DATA_ENV = "LEIAN_BENCHMARK_DATA"


def default_benchmark_data() -> Path:
    """The shared benchmark data: ``$LEIAN_BENCHMARK_DATA``, else ``../shared/data`` beside the checkout.

    The second is where the workplace keeps it next to a source checkout; an installed package has no
    checkout beside it, so there the variable (or ``--benchmark-data``) is what names the folder.
    """
    named = os.environ.get(BENCHMARK_DATA_ENV)
    if named:
        return Path(named).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "data"


#: The shared data folder (CAIL sample, JuDGE, LeCaRD, traffic cards, statutes), see default_benchmark_data.
DEFAULT_BENCHMARK_DATA = default_benchmark_data()
