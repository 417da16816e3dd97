"""One set of defaults: for every sample, ``python -m seqcore train FILE --task T`` builds exactly the RunSpec
the Data and Model pages build by default; the Data page says what it chose and why, and warns when the
training part has too few windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pages._ui.base import md
from pages._ui.data import SAMPLES as APP_SAMPLES
from seqcore.cli.main import make_parser
from seqcore.cli.spec import build_spec
from seqcore.config import DEFAULT_PRESET, DataSpec, RunSpec, default_run_spec
from seqcore.data.defaults import default_data_spec
from seqcore.data.io import read_csv

from helpers import SAMPLES, app, texts, upload

DATA, MODEL = "pages/1_Data.py", "pages/2_Model.py"

pytestmark = pytest.mark.usefixtures("short_worker_idle")


def cli_spec(*argv: str) -> RunSpec:
    args = make_parser().parse_args(["train", *argv])
    return build_spec(args, read_csv((SAMPLES / args.csv.split("/")[-1]).read_bytes(), name=args.csv).df)


def test_samples_set_nothing_by_hand():
    assert all(s.data == {} for s in APP_SAMPLES.values())


@pytest.mark.parametrize("key", list(APP_SAMPLES))
def test_cli_train_builds_what_the_app_builds_by_default(key):
    sample = APP_SAMPLES[key]
    at = app(DATA)
    at.radio(key="data_source").set_value("Sample dataset").run()
    at.selectbox(key="data_sample").set_value(key).run()
    at.button(key="data_use_sample").click().run()
    assert not at.exception and not at.error
    at.switch_page(MODEL).run()
    assert not at.exception
    ss = at.session_state
    app_spec = RunSpec.from_dict({"data": ss["data_spec"], "model": ss["model_spec"], "train": ss["train_spec"]})
    assert ss["preset"] == DEFAULT_PRESET
    cli = cli_spec(str(SAMPLES / sample.train_file), "--task", sample.task)
    assert cli == app_spec
    # and both are the data-fitted defaults with the default preset
    table = read_csv((SAMPLES / sample.train_file).read_bytes(), name=sample.train_file)
    assert cli == default_run_spec(default_data_spec(table, sample.task))


def test_cli_without_preset_is_the_default_preset_and_flags_go_on_top():
    f = str(SAMPLES / "GunPoint_TRAIN.csv")
    plain = cli_spec(f, "--task", "classify")
    assert plain == cli_spec(f, "--task", "classify", "--preset", DEFAULT_PRESET)
    assert plain.model.bidirectional and plain.train.epochs == 400          # the classify "balanced" preset
    quick = cli_spec(f, "--task", "classify", "--preset", "quick", "--epochs", "7")
    assert quick.train.epochs == 7 and quick.data == plain.data
    forecast = cli_spec(str(SAMPLES / "Airline.csv"), "--task", "forecast", "--window", "12")
    assert (forecast.data.window, forecast.data.horizon, forecast.data.season) == (12, 12, 12)


def test_cli_can_switch_a_fitted_choice_off_or_on():
    airline = str(SAMPLES / "Airline.csv")
    assert cli_spec(airline, "--task", "forecast").data.log_transform          # fitted: the swing grows
    assert not cli_spec(airline, "--task", "forecast", "--no-log").data.log_transform
    basic = str(SAMPLES / "BasicMotions_TRAIN.csv")
    assert not cli_spec(basic, "--task", "classify").data.znorm
    assert cli_spec(basic, "--task", "classify", "--znorm").data.znorm
    assert not cli_spec(basic, "--task", "classify", "--no-znorm").data.znorm


def monthly_csv(n: int) -> bytes:
    t = np.arange(n)
    y = 200 + 3 * t + 25 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 3, n)
    df = pd.DataFrame({"month": pd.date_range("2021-01-01", periods=n, freq="MS").strftime("%Y-%m-%d"),
                       "sales": y.round(1)})
    return df.to_csv(index=False).encode()


def test_data_page_says_what_it_chose_and_warns_on_few_windows():
    at = app(DATA)
    upload(at, "shop.csv", monthly_csv(36))
    assert not at.exception and not at.error
    assert at.number_input(key="data_opt_window").value == 12
    assert at.number_input(key="data_opt_horizon").value == 1
    captions = texts(at.caption)
    assert md("Look-back window 12: one season of 12 months, leaving 16 training windows") in captions
    assert md("Season 12: the rows are months, so a year is 12 steps.") in captions
    warnings = texts(at.warning)
    assert md("Only 16 training window(s): too few for the model to learn the pattern") in warnings
    assert DataSpec.from_dict(at.session_state["data_spec"]).window == 12
    # the user's window of 24 leaves 4 windows: the warning names a window that fits
    at.number_input(key="data_opt_window").set_value(24).run()
    assert not at.exception
    warnings = texts(at.warning)
    assert md("Only 4 training window(s)") in warnings and md("A look-back window of 12 leaves 16.") in warnings


def test_data_page_does_not_warn_with_enough_windows():
    at = app(DATA)
    upload(at, "shop.csv", monthly_csv(120))
    assert not at.exception and not at.error
    assert at.number_input(key="data_opt_window").value == 24
    assert "training window" not in texts(at.warning)


def test_changing_the_task_starts_the_options_from_that_tasks_defaults():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 30)).cumsum(axis=1), columns=[f"t{i}" for i in range(30)])
    df.insert(0, "label", ["a", "b", "c"] * 20)
    at = app(DATA)
    upload(at, "seqs.csv", df.to_csv(index=False).encode())
    assert at.radio(key="data_role_task").value == "classify"
    assert at.slider(key="data_opt_val").value == 0.0           # 60 sequences: no validation part
    assert md("No validation part: 15% of 60 sequences would be fewer than 20") in texts(at.caption)
    at.radio(key="data_role_task").set_value("forecast").run()
    assert not at.exception
    assert at.slider(key="data_opt_val").value == 0.1            # a 60-row series keeps 10% for validation
    at.radio(key="data_role_task").set_value("classify").run()
    assert at.slider(key="data_opt_val").value == 0.0


@pytest.mark.parametrize("key", ["airline", "gunpoint"])
def test_a_sweeps_base_configuration_is_the_same_default(key):
    sample = APP_SAMPLES[key]
    f = str(SAMPLES / sample.train_file)
    args = make_parser().parse_args(["sweep", f, "--task", sample.task, "--vary", "units=8,16"])
    df = read_csv((SAMPLES / sample.train_file).read_bytes(), name=sample.train_file).df
    assert build_spec(args, df) == cli_spec(f, "--task", sample.task)


def test_train_help_says_the_defaults_come_from_the_data_and_the_default_preset(capsys):
    with pytest.raises(SystemExit):
        make_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {DEFAULT_PRESET}, as in the app)" in text
    assert "data (not given: fitted to the data, as the app's Data page does)" in text
    assert "shorter when the training part would keep fewer than 20 windows" in text
