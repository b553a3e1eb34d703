"""The words of the results pane for answers the decision layer did not take from the classifier alone."""

from __future__ import annotations

import numpy as np
import pytest
from tinymodel import OPEN_SET, open_set_card

from shellgui.core.inference.decision import decide
from shellgui.core.inference.openset import OpenSetScore
from shellgui.qt.results_view import rollup_text


@pytest.mark.parametrize(
    ("nearest", "labelled"),
    [
        (0, False),  # the nearest known photo agrees: the classifier's roll-up is the answer's
        (2, True),  # rolled up to the family: "Genus: Redia" is not what was decided
        (3, True),  # "uncertain": nothing in the roll-up is an answer
    ],
)
def test_a_roll_up_the_answer_did_not_take_is_labelled_as_not_the_answer(
    nearest: int, labelled: bool
) -> None:
    card = open_set_card(open_set={**OPEN_SET, "agreement": True})
    answer = decide(
        np.array([0.9, 0.05, 0.03, 0.02]), card, open_set=OpenSetScore(0.1, 0.2, 3, nearest, 0.1, 9)
    )
    text = rollup_text(answer)
    assert "Genus: <i>Redia</i>" in text
    assert ("not the answer" in text) is labelled


def test_the_model_card_names_every_metric_the_bundled_model_records() -> None:
    from shellgui.core.inference import Classifier
    from shellgui.core.models import bundled_model_path
    from shellgui.qt.dialogs import METRIC_NAMES, card_html

    card = Classifier(bundled_model_path()).card
    assert set(card.metrics) <= set(METRIC_NAMES)
    assert "far_ood_auroc" not in card_html(card, "default.onnx")
