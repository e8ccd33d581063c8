"""Shared test setup: quiet TensorFlow, Keras 2 for tfmot, fixed seeds, the tiny QAT data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """64 random 8x8x1 images and labels of 3 classes, for the tiny QAT models."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.fixture(scope="module")
def representative_dataset(data):
    """TFLite-style: a callable returning an iterable of input batches."""
    images = data[0]
    return lambda: (images[i : i + 16] for i in range(0, len(images), 16))


# ---- the hardening suite's case counts ------------------------------------------------------
# A hardening test records how many cases of each family it tried in its report's
# ``user_properties`` (``("cases", (family, count))``: see tests/hardening/conftest.py); those
# travel from pytest-xdist's workers to the controller with the reports, and are summed here.
CASES_PROPERTY = "cases"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    totals: dict[str, int] = {}
    tests: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            for key, value in getattr(report, "user_properties", ()):
                if key == CASES_PROPERTY:
                    family, count = value
                    totals[family] = totals.get(family, 0) + count
                    tests[family] = tests.get(family, 0) + 1
    if not totals:
        return
    terminalreporter.section("hardening: cases tried per family")
    width = max(len(family) for family in totals)
    for family in sorted(totals):
        terminalreporter.write_line(
            f"{family:<{width}}  {totals[family]:>5} cases in {tests[family]} test(s)"
        )
    terminalreporter.write_line(f"{'total':<{width}}  {sum(totals.values()):>5} cases")
