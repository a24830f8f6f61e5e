import json

import pytest

from riskatlas.catalog.matrix import MatrixError, load_matrix, parse_matrix
from tests.helpers import cli

LABELS = ["Very Low", "Low", "Moderate", "High", "Very High"]
# NIST SP 800-30 Rev. 1 Table I-2, rows likelihood Very High -> Very Low.
TABLE_I2 = {
    "Very High": ["VL", "L", "M", "H", "VH"],
    "High": ["VL", "L", "M", "H", "VH"],
    "Moderate": ["VL", "L", "M", "M", "H"],
    "Low": ["VL", "L", "L", "L", "M"],
    "Very Low": ["VL", "VL", "VL", "L", "L"],
}
ABBREV = dict(zip(["VL", "L", "M", "H", "VH"], LABELS, strict=True))


def test_matrix_json_contract_reproduces_nist_table_i2() -> None:
    result = cli("matrix", "show", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["likelihood"] == LABELS
    assert doc["impact"] == LABELS
    assert doc["levels"] == LABELS
    for i, likelihood in enumerate(LABELS):
        assert doc["grid"][i] == [ABBREV[c] for c in TABLE_I2[likelihood]], likelihood


def test_parse_accepts_labels_abbreviations_and_numbers() -> None:
    m = load_matrix("nist-800-30")
    assert m.parse("likelihood", "very high") == 5
    assert m.parse("impact", "VL") == 1
    assert m.parse("impact", "very_low") == 1
    assert m.parse("likelihood", 3) == 3
    assert m.parse("likelihood", "4") == 4
    for bad in ("Extreme", 0, 6, True, None, 2.5):
        with pytest.raises(MatrixError):
            m.parse("likelihood", bad)


def test_a_matrix_file_with_a_short_row_is_refused() -> None:
    with pytest.raises(MatrixError, match="row 'High'"):
        parse_matrix({"likelihood": ["Low", "High"], "impact": ["Low", "High"],
                      "levels": ["Low", "High"], "rows": {"Low": ["Low", "Low"],
                                                          "High": ["High"]}})


def test_table_output_lists_likelihood_from_high_to_low() -> None:
    result = cli("matrix", "show")
    assert result.exit_code == 0
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines()
            if line.startswith("│")]
    assert rows == list(reversed(LABELS))


def test_parse_remembers_ratings_without_mixing_types() -> None:
    m = load_matrix("nist-800-30")
    assert [m.parse("likelihood", v) for v in ("VH", "VH", " very-high ", 5, "5")] == [5] * 5
    assert m.parse("impact", "VH") == 5 and m.parse("level", "VH") == 5
    for bad in (True, 5.0, "Extreme", "Extreme"):  # True == 1 == 1.0, but stay refused
        with pytest.raises(MatrixError):
            m.parse("likelihood", bad)
    for i in range(2000):  # the memory is bounded: any number of spellings can be sent
        with pytest.raises(MatrixError):
            m.parse("likelihood", f"bogus {i}")
        m.parse("likelihood", " " * (i % 50) + "low")
    assert len(m._parsed) <= 512
