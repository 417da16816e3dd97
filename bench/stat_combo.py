"""How a plain combination of the statistical forecasts would score (a lead for issue 13, not a feature).

For each forecasting-suite set (the app's fitted defaults, seed 42's split), AutoETS, AutoARIMA and AutoTheta
are fitted as the app fits them and scored on the validation part (fitted on the training part) and on the
test part (fitted on the data before it), beside their mean ("comb") and median. It answers: would the mean
of the three, as a base or a candidate, win where validation picks poorly among near-tied models?

    python bench/stat_combo.py uschange macrodata pbs_scripts elec_equip seatbelts airline sunspots
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    import bench.accuracy as A
    from seqcore.modeling.metrics import forecast_metrics
    from seqcore.modeling.statmodels import stat_forecasts
    from seqcore.pipeline import prepare_data

    keys = (argv if argv is not None else sys.argv[1:]) or [k for k in A.SUITE if k != "airline_h36"]
    budget = float(os.environ.get("SEQSTUDIO_STAT_BUDGET", "300"))
    print("| set | part | AutoETS | AutoARIMA | AutoTheta | mean of the three | median |")
    print("|---|---|---|---|---|---|---|")
    for key in keys:
        case = A.CASES[key]
        spec = A.run_spec(case, "balanced", 42)
        _, prep, _ = prepare_data(case.read(), spec, name=case.train_file)
        st, series, split = prep.state, prep.extra["series"], prep.extra["split"]
        for part, fit_end in (("validation", split.train_end), ("test", split.val_end)):
            starts = prep.extra["starts"][part[:3] if part == "validation" else part]
            sf = stat_forecasts(series, starts, st["horizon"], fit_end, st["season"], budget_s=budget)
            actual = series[starts[:, None] + np.arange(st["horizon"])[None, :]]
            score = lambda f: forecast_metrics(actual, f, y_train=series[: split.train_end])["mase"]
            res = {k: score(v) for k, v in sf.forecasts.items()}
            both = list(sf.forecasts.values())
            cells = [f"{res[k]:.3f}" if k in res else "-" for k in ("auto_ets", "auto_arima", "auto_theta")]
            cells += [f"{score(np.mean(both, axis=0)):.3f}", f"{score(np.median(both, axis=0)):.3f}"] \
                if len(both) >= 2 else ["-", "-"]
            print(f"| {case.title} | {part} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nMASE; statistical models within {budget:.0f} s each. Reproduce: `python bench/stat_combo.py "
          f"{' '.join(keys)}`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
