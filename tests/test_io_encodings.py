"""Text encodings: files saved in a legacy code page (Windows-1251, Shift-JIS, GBK, Windows-1252, Latin-1)
and in UTF-8 decode to exactly the text that was written: column names and values.

Every file is made here by encoding a Python string, like a spreadsheet program saving "CSV" in the
computer's local code page: a header, a date column, numbers and free text, a dozen rows or more.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest

from seqcore.data.io import CsvOptions, encoding_label, read_csv


def make_csv(header: list[str], rows: list[tuple], *, sep: str = ",", decimal: str = ".") -> str:
    """CSV text; floats written with ``decimal`` as decimal mark, cells holding ``sep`` quoted."""
    def cell(v):
        v = f"{v:.2f}".replace(".", decimal) if isinstance(v, float) else str(v)
        return '"' + v.replace('"', '""') + '"' if sep in v or '"' in v else v
    return "".join(sep.join(cell(v) for v in r) + "\n" for r in [tuple(header)] + rows)


def dates(n: int, start=dt.date(2024, 1, 29)) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


def check_table(t, header: list[str], rows: list[tuple]) -> None:
    """Column names and every value equal what was written (numbers as numbers, text exactly)."""
    df = t.df
    assert list(df.columns) == header
    assert len(df) == len(rows)
    for j, name in enumerate(header):
        want = [r[j] for r in rows]
        got = df[name].tolist()
        if isinstance(want[0], (int, float)):
            assert got == pytest.approx(want), name
        else:
            assert got == want, name


# ----------------------------------------------------------------------------- data sets

RU_HEADER = ["Дата", "Город", "Температура", "Осадки, мм", "Погода", "Комментарий"]
RU_CITIES = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Нижний Новгород",
             "Челябинск", "Самара", "Омск", "Ростов-на-Дону", "Уфа", "Красноярск", "Воронеж", "Пермь"]
RU_WEATHER = ["Ясно", "Облачно с прояснениями", "Пасмурно", "Небольшой снег", "Снегопад, метель", "Дождь со снегом"]
RU_NOTES = ["Данные метеостанции", "Предварительные данные", "Гололёд на дорогах", "Штормовое предупреждение",
            "Без происшествий", "Сильный ветер, порывы до 15 м/с"]
RU_ROWS = [(d, RU_CITIES[i % 14], round(-12.5 + 1.37 * i, 2), round(0.4 * (i % 5), 2), RU_WEATHER[i % 6],
            RU_NOTES[(i * 5) % 6]) for i, d in enumerate(dates(20))]

JA_HEADER = ["日付", "店舗", "商品名", "数量", "売上金額", "備考"]
JA_STORES = ["東京本店", "大阪支店", "名古屋店", "札幌店", "福岡店", "横浜店", "京都店", "神戸店"]
JA_GOODS = ["りんご", "みかん", "緑茶", "コーヒー豆", "しょうゆ", "味噌", "おにぎり", "弁当"]
JA_NOTES = ["通常営業", "セール期間中", "雨のため来客少なめ", "在庫切れあり", "新商品の試食会", "週末の混雑"]
JA_ROWS = [(d, JA_STORES[i % 8], JA_GOODS[(i * 3) % 8], 10 + (i * 7) % 23, 1200 + 350 * i, JA_NOTES[i % 6])
           for i, d in enumerate(dates(16))]

ZH_HEADER = ["日期", "城市", "产品", "销量", "金额", "备注"]
ZH_CITIES = ["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"]
ZH_GOODS = ["苹果", "香蕉", "绿茶", "牛奶", "大米", "面条", "饺子", "月饼"]
ZH_NOTES = ["正常销售", "促销活动", "节假日客流增加", "部分商品缺货", "天气影响销量", "新店开业"]
ZH_ROWS = [(d, ZH_CITIES[i % 10], ZH_GOODS[(i * 5) % 8], 20 + (i * 11) % 37, round(88.5 + 12.25 * i, 2),
            ZH_NOTES[i % 6]) for i, d in enumerate(dates(18))]

FR_HEADER = ["date", "ville", "température", "prix", "remarque"]
FR_CITIES = ["Besançon", "Orléans", "Nîmes", "Béziers", "Saint-Étienne", "Créteil", "Angoulême", "Pérols",
             "Sète", "Montréal"]
FR_NOTES_1252 = ["très élevé", "coût: 3 € de plus", "fermé à Noël", "œuvre d'art, hôtel à côté", "prix «spécial»",
                 "déjà payé — reçu n° 12", "crème brûlée à 4,50 €"]
FR_NOTES_LATIN1 = ["très élevé", "fermé à Noël", "hôtel à côté", "prix «spécial»", "déjà payé, reçu n° 12",
                   "crème brûlée", "garçon, où ça?"]


def fr_rows(notes: list[str], n: int = 15) -> list[tuple]:
    return [(d, FR_CITIES[i % 10], round(-2.0 + 0.85 * i, 2), round(9.9 + 1.25 * i, 2), notes[i % len(notes)])
            for i, d in enumerate(dates(n))]


# ----------------------------------------------------------------------------- legacy code pages


def test_cp1251_russian():
    text = make_csv(RU_HEADER, RU_ROWS, sep=";", decimal=",")
    data = text.encode("cp1251")
    t = read_csv(data, name="погода.csv")
    assert t.fmt.encoding == "cp1251"
    check_table(t, RU_HEADER, RU_ROWS)
    assert t.fmt.decimal == "," and t.fmt.delimiter == ";"
    assert "Windows-1251 (Cyrillic)" in t.fmt.describe()
    assert any("Windows-1251" in n and "detected" in n for n in t.notes)


def test_shift_jis_japanese():
    text = make_csv(JA_HEADER, JA_ROWS)
    data = text.encode("shift_jis")
    t = read_csv(data, name="売上.csv")
    assert t.fmt.encoding in ("shift_jis", "cp932")  # cp932 is Windows' Shift-JIS, a superset
    check_table(t, JA_HEADER, JA_ROWS)
    assert "Shift-JIS" in t.fmt.describe()
    assert any("Shift-JIS" in n for n in t.notes)


def test_gbk_chinese():
    text = make_csv(ZH_HEADER, ZH_ROWS)
    data = text.encode("gbk")
    t = read_csv(data, name="销售.csv")
    assert t.fmt.encoding in ("gbk", "gb18030")  # GB18030 is a superset of GBK
    check_table(t, ZH_HEADER, ZH_ROWS)
    assert "GB" in t.fmt.describe() and "Chinese" in t.fmt.describe()


def test_cp1252_french_with_euro():
    rows = fr_rows(FR_NOTES_1252)
    data = make_csv(FR_HEADER, rows, sep=";", decimal=",").encode("cp1252")
    t = read_csv(data)
    assert t.fmt.encoding == "cp1252"
    check_table(t, FR_HEADER, rows)
    assert any("Windows-1252" in n for n in t.notes)


def test_latin1_french():
    rows = fr_rows(FR_NOTES_LATIN1)
    data = make_csv(FR_HEADER, rows).encode("latin-1")
    t = read_csv(data)
    assert t.fmt.encoding in ("cp1252", "latin-1")  # the same letters for these bytes
    check_table(t, FR_HEADER, rows)


WESTERN = {
    "de": (["Datum", "Stadt", "Menge", "Bemerkung"], ["München", "Köln", "Düsseldorf", "Nürnberg"],
           ["Schöne Grüße", "Überstunden", "größer als gestern", "Straße gesperrt", "Bäckerei geöffnet, 5 €"]),
    "pt": (["data", "cidade", "preço", "observação"], ["São Paulo", "Brasília", "Maceió", "Goiânia"],
           ["não há informação", "ação concluída", "coração e pão", "maçã da avó", "você já pagou"]),
    "es": (["fecha", "ciudad", "cantidad", "descripción"], ["Málaga", "Córdoba", "León", "Cádiz"],
           ["año nuevo", "niño pequeño", "canción de mañana", "envío rápido", "teléfono ¿roto?"]),
    "sv": (["datum", "stad", "belopp", "anteckning"], ["Göteborg", "Malmö", "Västerås", "Umeå"],
           ["år över", "hälsa och försäljning", "kund nöjd", "läget är åtgärdat", "öppet"]),
}


@pytest.mark.parametrize("lang", sorted(WESTERN))
def test_western_cp1252_stays_cp1252(lang):
    """The detector mixes up Latin-script code pages on short samples; these files keep Windows-1252."""
    header, cities, notes = WESTERN[lang]
    rows = [(d, cities[i % 4], round(1.5 * i, 2), notes[i % 5]) for i, d in enumerate(dates(14))]
    t = read_csv(make_csv(header, rows, sep=";", decimal=",").encode("cp1252"))
    assert t.fmt.encoding == "cp1252"
    check_table(t, header, rows)


def test_non_ascii_only_far_down_the_file():
    """Thousands of plain ASCII rows before the first Cyrillic letter: the sample still finds it."""
    rows = [(d, "Moscow", float(i % 40), 0.0, "Clear", "ok") for i, d in enumerate(dates(5000))] + RU_ROWS
    text = make_csv(RU_HEADER, rows, sep=";", decimal=",")
    t = read_csv(text.encode("cp1251"))
    assert t.fmt.encoding == "cp1251"
    check_table(t, RU_HEADER, rows)


def test_repetitive_cp1251_is_not_koi8():
    """Few distinct words over many rows: KOI8-R (upper and lower case swapped) reads as "Russian" too."""
    header = ["Дата", "Город", "Значение"]
    rows = [(d, ["Москва", "Казань", "Пермь"][i % 3], float(i % 97)) for i, d in enumerate(dates(3000))]
    t = read_csv(make_csv(header, rows, sep=";", decimal=",").encode("cp1251"))
    assert t.fmt.encoding == "cp1251"
    check_table(t, header, rows)


OTHER_SCRIPTS = {
    "cp1255": "המשלוח הושלם בזמן. הלקוח אינו מרוצה מהאריזה. נדרשת בדיקה חוזרת של החשבונית. התשלום התקבל באופן "
              "חלקי. ספק חדש מחיפה",
    "big5": "貨物已按時發出. 客戶對包裝品質不滿意. 需要重新核對發票. 貨款已部分到帳. 新的供應商來自臺南",
    "cp949": "배송이 예정대로 완료되었습니다. 고객이 포장 품질에 불만을 표시했습니다. 청구서를 다시 확인해야 합니다. "
             "일부 금액만 입금되었습니다. 새 공급업체는 부산에 있습니다",
}


@pytest.mark.parametrize("codec", sorted(OTHER_SCRIPTS))
def test_other_scripts(codec):
    notes = OTHER_SCRIPTS[codec].split(". ")
    header = ["id", "date", "amount", "comment"]
    rows = [(i, d, round(17.5 * i, 2), notes[(i * 3) % len(notes)]) for i, d in enumerate(dates(15))]
    t = read_csv(make_csv(header, rows, sep=";").encode(codec))
    assert t.fmt.encoding == codec
    check_table(t, header, rows)


def test_a_miss_falls_back_to_cp1252():
    """The detector does not list Windows-1253 for this Greek file, only Cyrillic pages: rather than a
    Mac Cyrillic reading, the file is read as Windows-1252 as before (the user can choose by hand)."""
    notes = ("Η αποστολή ολοκληρώθηκε εγκαίρως. Ο πελάτης δεν είναι ικανοποιημένος. Απαιτείται νέος έλεγχος "
             "τιμολογίου. Η πληρωμή έγινε εν μέρει. Νέος προμηθευτής από τη Θεσσαλονίκη").split(". ")
    header = ["id", "date", "amount", "comment"]
    rows = [(i, d, round(17.5 * i, 2), notes[(i * 3) % len(notes)]) for i, d in enumerate(dates(15))]
    data = make_csv(header, rows, sep=";").encode("cp1253")
    t = read_csv(data)
    assert t.fmt.encoding in ("cp1253", "cp1252")
    if t.fmt.encoding == "cp1253":  # a newer charset_normalizer may find it
        check_table(t, header, rows)
    assert read_csv(data, CsvOptions(encoding="cp1253")).df["comment"].tolist() == [r[3] for r in rows]


def test_detection_sample_is_bounded():
    from seqcore.data.io import encoding

    big = make_csv(RU_HEADER, RU_ROWS * 2000, sep=";").encode("cp1251")  # ~3 MB, every line Cyrillic
    sample = encoding._detection_sample(big)
    assert 0 < len(sample) <= encoding._DETECT_BYTES + encoding._CHUNK
    assert sample.decode("cp1251").splitlines()[:3] == RU_HEADER[:3]


# ----------------------------------------------------------------------------- UTF-8 and overrides

MIXED_HEADER = ["date", "ville", "Город", "店舗", "城市", "value"]
MIXED_ROWS = [(d, FR_CITIES[i % 10], RU_CITIES[i % 14], JA_STORES[i % 8], ZH_CITIES[i % 10], round(1.5 * i, 2))
              for i, d in enumerate(dates(15))]


@pytest.mark.parametrize("codec, expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")])
def test_utf8_with_and_without_bom(codec, expected):
    rows = [r[:-1] + (r[-1],) for r in MIXED_ROWS]
    rows[3] = rows[3][:1] + ("prix 3 € — œuvre",) + rows[3][2:]
    t = read_csv(make_csv(MIXED_HEADER, rows).encode(codec))
    assert t.fmt.encoding == expected
    check_table(t, MIXED_HEADER, rows)
    assert not any("detected" in n or "Windows" in n for n in t.notes)


def test_forced_encoding_wins_over_detection():
    data = make_csv(RU_HEADER, RU_ROWS, sep=";", decimal=",").encode("cp1251")
    t = read_csv(data, CsvOptions(encoding="cp1252"))
    assert t.fmt.encoding == "cp1252"
    assert list(t.df.columns) == [h.encode("cp1251").decode("cp1252") for h in RU_HEADER]
    t = read_csv(data, CsvOptions(encoding="cp1251"))
    assert t.fmt.encoding == "cp1251" and list(t.df.columns) == RU_HEADER
    assert not any("detected" in n for n in t.notes)
    # the detected format reads the next file of the same kind the same way
    again = read_csv(data, read_csv(data).fmt.to_options())
    assert list(again.df.columns) == RU_HEADER


def test_nothing_convincing_falls_back_to_cp1252(monkeypatch):
    import charset_normalizer

    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda *a, **k: [])
    rows = fr_rows(FR_NOTES_1252)
    t = read_csv(make_csv(FR_HEADER, rows, sep=";", decimal=",").encode("cp1252"))
    assert t.fmt.encoding == "cp1252"
    check_table(t, FR_HEADER, rows)

    def broken(*a, **k):
        raise RuntimeError("detector failed")

    monkeypatch.setattr(charset_normalizer, "from_bytes", broken)
    assert read_csv(make_csv(FR_HEADER, rows).encode("cp1252")).fmt.encoding == "cp1252"


def test_encoding_label():
    assert encoding_label("cp1251") == "Windows-1251 (Cyrillic)"
    assert encoding_label("windows-1251") == "Windows-1251 (Cyrillic)"
    assert encoding_label("koi8_r") == "KOI8-R (Cyrillic)"
    assert encoding_label("utf-8-sig") == "UTF-8 with BOM"
    assert encoding_label("no-such") == "no-such"


def test_charset_normalizer_is_imported_lazily():
    """UTF-8 and ASCII files never import the detector; a legacy code page does."""
    code = textwrap.dedent(f"""
        import sys
        from seqcore.data.io import read_csv
        assert "charset_normalizer" not in sys.modules, "imported with seqcore.data.io"
        read_csv({make_csv(MIXED_HEADER, MIXED_ROWS).encode()!r})
        read_csv(b"a,b\\n1,2\\n3,4\\n")
        assert "charset_normalizer" not in sys.modules, "imported for a UTF-8 file"
        read_csv({make_csv(RU_HEADER, RU_ROWS, sep=";").encode("cp1251")!r})
        assert "charset_normalizer" in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
