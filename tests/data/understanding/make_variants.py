"""Writes the variant files of the understanding corpus (run once; the files are committed).

Each file is a realistic shape people bring, derived from the shared public datasets (../shared/datasets)
or from a seeded series. The right answers are NOT computed here: they are written by hand in
answers.json after looking at each file.

    python tests/data/understanding/make_variants.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = next(p / "shared" / "datasets" for p in HERE.parents[3:] if (p / "shared" / "datasets").is_dir())
RNG = np.random.default_rng(12)


def series(n: int, base: float, amp: float, period: float, noise: float, trend: float = 0.0) -> np.ndarray:
    t = np.arange(n)
    return base + trend * t + amp * np.sin(2 * np.pi * t / period) + RNG.normal(0, noise, n)


def names_lower(label: str) -> str:
    return label.lower()


def write(name: str, text: str) -> None:
    (HERE / name).write_text(text, encoding="utf-8")


def csv(name: str, df: pd.DataFrame, **kw) -> None:
    write(name, df.to_csv(index=False, lineterminator="\n", **kw))


def main() -> None:
    # --- dates written as numbers
    days = pd.date_range("1958-03-29", periods=110, freq="7D")
    csv("co2_weekly_yyyymmdd.csv", pd.DataFrame({
        "date": days.strftime("%Y%m%d").astype(int),
        "co2_ppm": np.round(series(110, 315.7, 3.0, 52, 0.3, 0.015), 2)}))
    t0 = int(pd.Timestamp("2023-06-01").timestamp())
    csv("sensor_unix_seconds.csv", pd.DataFrame({
        "timestamp": t0 + 3600 * np.arange(96),
        "temperature": np.round(series(96, 18, 5, 24, 0.4), 1),
        "humidity": np.round(series(96, 60, 12, 24, 2.0), 0).astype(int)}))
    t0 = int(pd.Timestamp("2024-01-15").timestamp()) * 1000
    csv("meter_epoch_ms.csv", pd.DataFrame({
        "epoch": t0 + 900_000 * np.arange(96),
        "load_kw": np.round(series(96, 4.2, 1.5, 96, 0.2), 3)}))
    t0 = int(pd.Timestamp("2022-03-01").timestamp())
    csv("visitors_unix_time.csv", pd.DataFrame({
        "time": t0 + 86400 * np.arange(60),
        "visitors": np.round(series(60, 420, 80, 7, 15)).astype(int)}))
    csv("sales_excel_serial.csv", pd.DataFrame({
        "date": 45292 + np.arange(60),
        "sales": np.round(series(60, 1250, 200, 7, 40), 2)}))
    # --- dates written in other orders
    d = pd.date_range("2024-01-01", periods=60, freq="D")
    csv("visitors_dayfirst.csv", pd.DataFrame({"date": d.strftime("%d/%m/%Y"),
                                               "visitors": np.round(series(60, 300, 50, 7, 10)).astype(int)}))
    d = pd.date_range("2023-12-01", periods=60, freq="D")
    csv("price_monthfirst.csv", pd.DataFrame({"Date": d.strftime("%m/%d/%Y"),
                                              "Close": np.round(series(60, 182, 6, 20, 1.5, 0.1), 2)}))
    w = pd.date_range("2020-01-27", periods=52, freq="W-MON")
    csv("cases_iso_week.csv", pd.DataFrame({"week": [f"{x.isocalendar()[0]}-W{x.isocalendar()[1]:02d}" for x in w],
                                            "cases": np.round(np.abs(series(52, 120, 90, 52, 10))).astype(int)}))
    m = pd.date_range("2015-01-01", periods=60, freq="MS")
    csv("rainfall_year_month.csv", pd.DataFrame({"year": m.year, "month": m.month,
                                                 "rainfall_mm": np.round(np.abs(series(60, 70, 40, 12, 12)), 1)}))
    h = pd.date_range("2024-02-01", periods=72, freq="h")
    csv("air_quality_hourly.csv", pd.DataFrame({"timestamp": h.strftime("%Y-%m-%d %H:%M"),
                                                "pm25": np.round(np.abs(series(72, 22, 9, 24, 3)), 1)}))
    m = pd.date_range("2019-01-01", periods=48, freq="MS")
    csv("shop_sales_mon_yyyy.csv", pd.DataFrame({"month": m.strftime("%b %Y"),
                                                 "sales": np.round(series(48, 5400, 900, 12, 150, 20)).astype(int)}))
    q = pd.period_range("2010Q1", periods=40, freq="Q")
    csv("gdp_quarterly.csv", pd.DataFrame({"period": [str(p) for p in q],
                                           "gdp_bn": np.round(series(40, 410, 6, 4, 2, 2.5), 1)}))
    csv("population_yearly.csv", pd.DataFrame({"Year": np.arange(1960, 2024),
                                               "Population": np.round(series(64, 5.2e6, 0, 10, 2e4, 4.5e4)).astype(int)}))
    # --- header-less UCR-style sequence files
    gp = pd.read_csv(SHARED / "GunPoint_TRAIN.csv")
    vals = gp.iloc[:24, 1::5].round(4)
    write("ucr_headerless_comma.csv", "".join(
        f"{int(lab)}," + ",".join(f"{v:g}" for v in row) + "\n" for lab, row in zip(gp["label"][:24], vals.to_numpy())))
    gt = pd.read_csv(SHARED / "GunPoint_TEST.csv")
    vals = gt.iloc[:24, 1::4].round(4)
    write("ucr_float_labels.csv", "".join(
        f"{float(lab):.1f}," + ",".join(f"{v:.4f}" for v in row) + "\n" for lab, row in zip(gt["label"][:24], vals.to_numpy())))
    cf = pd.read_csv(SHARED / "Coffee_TRAIN.txt", sep=r"\s+", header=None)
    sub = cf.iloc[::1, :].iloc[:20]
    lines = []
    for row in sub.to_numpy():
        lab = -1 if row[0] == 0 else 1
        lines.append(f"  {lab: d}" + "".join(f"  {v: .7e}" for v in row[1::8]) + "\n")
    write("ucr_whitespace_pm1.txt", "".join(lines))
    bm = pd.read_csv(SHARED / "BasicMotions_TRAIN.csv")
    classes = {"Standing": 1, "Walking": 2, "Running": 3, "Badminton": 4}
    rows = []
    for cid, g in list(bm.groupby("case_id"))[:32]:
        rows.append(",".join(f"{v:.4f}" for v in g["dim_0"].to_numpy()[::3]) + f",{classes[g['label'].iloc[0]]}\n")
    write("ucr_label_last_headerless.csv", "".join(rows))
    sel = gt.iloc[100:124]
    write("ucr_2018_tab.tsv", "".join(f"{int(lab)}\t" + "\t".join(f"{v:.6f}" for v in row[1::6]) + "\n"
                                      for lab, row in zip(sel["label"], sel.to_numpy())))
    rows = []
    for cid, g in list(bm.groupby("case_id"))[::2][:20]:
        rows.append(names_lower(g["label"].iloc[0]) + "," + ",".join(f"{v:.4f}" for v in g["dim_2"].to_numpy()[::4])
                    + "\n")
    write("ucr_text_labels_headerless.csv", "".join(rows))
    # --- labelled sequences with headers, labels named oddly
    sel = gp.iloc[:30]
    w = sel.iloc[:, 1::5].round(3)
    body = pd.DataFrame({"Klasse": sel["label"].map({1: "A", 2: "B"})})
    body = pd.concat([body, w.set_axis([f"w{i}" for i in range(w.shape[1])], axis=1)], axis=1)
    write("klasse_semicolon_comma.csv", body.to_csv(index=False, sep=";", decimal=",", lineterminator="\n"))
    sel = gt.iloc[30:60]
    w = sel.iloc[:, 1::5].round(3).set_axis([f"x{i}" for i in range(30)], axis=1)
    w["y"] = (sel["label"].to_numpy() == 2).astype(int)
    csv("wide_y_last.csv", w)
    sel = gt.iloc[60:90]
    w = sel.iloc[:, 1::5].round(3).set_axis([f"hr_{i}" for i in range(30)], axis=1)
    w.insert(0, "diagnosis", np.where(sel["label"].to_numpy() == 1, "normal", "abnormal"))
    w.insert(0, "patient_id", np.arange(1001, 1031))
    csv("diagnosis_patient_id.csv", w)
    names = {"Standing": "standing", "Walking": "walking", "Running": "running", "Badminton": "badminton"}
    parts = []
    for k, (cid, g) in enumerate(list(bm.groupby("case_id"))[::5][:8]):
        g = g.iloc[:25]
        parts.append(pd.DataFrame({"recording_id": 100 + k, "step": np.arange(25),
                                   "acc_x": g["dim_0"].round(3).to_numpy(), "acc_y": g["dim_1"].round(3).to_numpy(),
                                   "acc_z": g["dim_2"].round(3).to_numpy(),
                                   "activity": names[g["label"].iloc[0]]}))
    csv("activity_long.csv", pd.concat(parts))
    wide = []
    for cid, g in list(bm.groupby("case_id"))[:32]:
        wide.append(list(np.round(g["dim_1"].to_numpy()[::3], 3)) + [names[g["label"].iloc[0]]])
    csv("sensor_wide_activity.csv", pd.DataFrame(wide, columns=[f"f{i}" for i in range(34)] + ["activity"]))
    # --- forecasting shapes
    m = pd.date_range("2021-01-01", periods=36, freq="MS").strftime("%Y-%m-%d")
    csv("store_sales_panel.csv", pd.concat([pd.DataFrame({
        "store": s, "date": m, "sales": np.round(series(36, b, b / 8, 12, b / 40)).astype(int)})
        for s, b in (("North", 900), ("South", 1400), ("East", 650))]))
    d = pd.date_range("2023-01-01", periods=90, freq="D")
    csv("weather_constant_station.csv", pd.DataFrame({
        "date": d.strftime("%Y-%m-%d"), "station_id": 4711, "temp_c": np.round(series(90, 4, 3, 30, 1.2), 1),
        "pressure_hpa": np.round(series(90, 1013, 6, 9, 2), 1)}))
    csv("orders_id_like.csv", pd.DataFrame({
        "order_id": 50001 + np.arange(70), "date": pd.date_range("2024-03-01", periods=70, freq="D").strftime("%Y-%m-%d"),
        "amount": np.round(series(70, 830, 120, 7, 30), 2)}))
    d = pd.date_range("2022-10-01", periods=60, freq="D")
    de = pd.DataFrame({"Datum": d.strftime("%Y-%m-%d"), "Verbrauch_kWh": np.round(series(60, 14.5, 3, 7, 0.6, 0.05), 2),
                       "Temperatur": np.round(series(60, 8, 4, 30, 1), 1)})
    write("energy_semicolon_decimal_comma.csv", de.to_csv(index=False, sep=";", decimal=",", lineterminator="\n"))
    d = pd.date_range("2023-04-01", periods=80, freq="D")
    csv("counter_date_value.csv", pd.DataFrame({"No": np.arange(1, 81), "Date": d.strftime("%Y-%m-%d"),
                                                "Temperature": np.round(series(80, 15, 5, 40, 1), 1)}))
    write("t_y_empty.csv", "t,y\n" + "".join(f"{i}," + "\n" for i in range(1, 51)))
    # --- texts
    rt = pd.read_csv(SHARED / "rt_polarity_subset.csv")
    short = rt[rt["text"].str.len() < 90]
    csv("reviews_label_first.csv", short.iloc[:60][["label", "text"]].rename(columns={"label": "sentiment",
                                                                                        "text": "review"}))
    tx = short.iloc[60:90]
    csv("text_only_comments.csv", pd.DataFrame({"title": [f"Comment {i}: " + " ".join(t.split()[:3])
                                                          for i, t in enumerate(tx["text"], 1)],
                                                "comment": tx["text"].to_numpy()}))


if __name__ == "__main__":
    main()
