"""Model inference: providers, card-driven preprocessing, calibrated decisions."""

from shellgui.core.inference.classifier import Classifier, load_classifier
from shellgui.core.inference.decision import UNCERTAIN, Prediction, TaxonScore, decide

__all__ = ["UNCERTAIN", "Classifier", "Prediction", "TaxonScore", "decide", "load_classifier"]
