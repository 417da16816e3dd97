import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "seqcore" / "samples"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))   # `from helpers import ...` in any import mode
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The search behind base="auto" trains one model per candidate base before a forecast trains: the tests about it
# switch it on (the ``base_search`` fixture, tests/test_forecast_base.py); every other forecasting test trains
# the network alone, as SEQSTUDIO_BASE_SEARCH=0 makes "auto" do, so the suite stays short.
os.environ.setdefault("SEQSTUDIO_BASE_SEARCH", "0")
# Likewise members=0 ("automatic") trains one network unless a test turns seed ensembles on (``ensemble_on`` fixture,
# tests/test_ensemble.py); an explicit member count is always honoured.
os.environ.setdefault("SEQSTUDIO_ENSEMBLE", "0")
# Likewise conv="auto" / augment="auto" of sequence classification (seqcore.modeling.arch_select): the tests
# about it switch it on (the ``arch_search`` fixture); elsewhere "auto" keeps the recurrent network alone.
os.environ.setdefault("SEQSTUDIO_ARCH_SEARCH", "0")


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def sample_bytes():
    def read(name: str) -> bytes:
        return (SAMPLES / name).read_bytes()
    return read


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own SEQSTUDIO_HOME so nothing touches the user's data."""
    home = tmp_path / "seqstudio-home"
    monkeypatch.setenv("SEQSTUDIO_HOME", str(home))
    return home


@pytest.fixture
def base_search(monkeypatch):
    """base="auto" picks the forecaster's base by validation, as it does outside the tests."""
    monkeypatch.setenv("SEQSTUDIO_BASE_SEARCH", "1")


@pytest.fixture
def ensemble_on(monkeypatch):
    """members=0 ("automatic") trains a seed ensemble on small classification sets, as outside the tests."""
    monkeypatch.setenv("SEQSTUDIO_ENSEMBLE", "1")


@pytest.fixture
def arch_search(monkeypatch):
    """conv="auto" / augment="auto" pick the classifier's design by (cross-)validation, as outside the tests."""
    monkeypatch.setenv("SEQSTUDIO_ARCH_SEARCH", "1")


@pytest.fixture
def short_worker_idle(monkeypatch):
    """Any supervisor a page or test starts exits after 20 idle seconds (use with
    ``pytestmark = pytest.mark.usefixtures("short_worker_idle")``)."""
    monkeypatch.setenv("SEQSTUDIO_WORKER_IDLE_EXIT", "20")
