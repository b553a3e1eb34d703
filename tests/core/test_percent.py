from shellgui.core.percent import percent


def test_a_probability_below_one_never_reads_as_certain() -> None:
    assert percent(0.998) == "> 99%"
    assert percent(0.9996, 1) == "> 99.9%"
    assert percent(1.0) == "100%"


def test_a_probability_above_zero_never_reads_as_impossible() -> None:
    assert percent(0.002) == "< 1%"
    assert percent(0.0) == "0%"


def test_ordinary_values_round_as_usual() -> None:
    assert percent(0.874) == "87%"
    assert percent(0.874, 1) == "87.4%"
