"""The answer for one photo or specimen: certainty in plain words, top-k with bars, rolled-up ranks."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shellgui.core.inference.decision import HINT, SCORES_NOT_AN_ANSWER, Prediction
from shellgui.core.percent import percent
from shellgui.qt import theme


def headline_html(prediction: Prediction) -> str:
    """The big line: the decided taxon and how sure the model is, in words a collector uses."""
    uncertain_colour = theme.colour("error")
    if prediction.not_known:
        hint = (
            f"<br><small>{HINT} <i>{html.escape(prediction.hint)}</i>: a hint, "
            "<b>not an identification</b></small>"
            if prediction.hint
            else ""
        )
        reason = prediction.certainty.split(" — ", 1)[-1]
        return (
            f"<span style='color:{uncertain_colour}; font-size:15pt'><b>Not something this model knows</b>"
            f"</span><br><span style='color:{uncertain_colour}'>{html.escape(reason)}</span>{hint}"
        )
    disputed = (
        f"<br><small>the most similar photo it learned from is <i>{html.escape(prediction.disputed_by)}</i>, "
        f"so it does not name a {'species' if prediction.taxon else 'taxon'}</small>"
        if prediction.disputed_by
        else ""
    )
    if prediction.taxon is None:
        best = prediction.top_k[0]
        why = (
            "this photo looks unlike the photos the model was trained on"
            if prediction.unfamiliar
            else prediction.certainty.split(" — ", 1)[-1]  # the decision layer's reason, after "uncertain"
        )
        return (
            f"<span style='color:{uncertain_colour}; font-size:15pt'><b>Uncertain</b></span><br>"
            f"<span style='color:{uncertain_colour}'>{html.escape(why)}</span>"
            f"<br><small>best guess: <i>{html.escape(best.name)}</i> ({percent(best.probability)})</small>"
            f"{disputed}"
        )
    colour = theme.colour(prediction.certainty)
    name = prediction.taxon if prediction.rank == "family" else f"<i>{prediction.taxon}</i>"
    return (
        f"<span style='font-size:15pt'><b>{name}</b></span><br>"
        f"<span style='color:{colour}'><b>{prediction.certainty}</b></span> "
        f"at {prediction.rank} level · {percent(prediction.score)}{disputed}"
    )


def rollup_text(prediction: Prediction) -> str:
    if prediction.not_known:  # the scores below rank only the taxa it knows: say so instead of a roll-up
        return f"<small>{SCORES_NOT_AN_ANSWER}</small>"
    parts = []
    if prediction.genera:
        g = prediction.genera[0]
        parts.append(f"Genus: <i>{g.name}</i> {percent(g.probability)}")
    if prediction.families:
        f = prediction.families[0]
        parts.append(f"Family: {f.name} {percent(f.probability)}")
    if parts and (prediction.taxon is None or prediction.disputed_by):
        # The classifier's own roll-up is not what was decided: never let it read as the answer.
        return "<small>The classifier's scores alone, not the answer: " + " · ".join(parts) + "</small>"
    return " · ".join(parts)


class ResultsView(QWidget):
    """Shows a :class:`Prediction`; clicking a row picks that taxon as the alternative to record."""

    alternative_chosen = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.headline = QLabel("Drop shell photos here, or use File ▸ Open (Ctrl+O).")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.rollup = QLabel()
        self.rollup.setWordWrap(True)  # a labelled roll-up must not widen the pane
        self.rollup.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["#", "Taxon", "Confidence"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, 170)
        self.table.itemSelectionChanged.connect(self._selected)
        self.model_line = QLabel()
        self.model_line.setStyleSheet("color: gray")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.headline, self.rollup, self.table, self.model_line):
            layout.addWidget(w)
        self.prediction: Prediction | None = None

    def show_prediction(self, prediction: Prediction | None, model_line: str = "") -> None:
        self.prediction = prediction
        self.table.setRowCount(0)
        if prediction is None:
            self.headline.setText("No result.")
            self.rollup.clear()
            self.model_line.setText(model_line)
            return
        self.headline.setText(headline_html(prediction))
        self.rollup.setText(rollup_text(prediction))
        self.model_line.setText(model_line)
        for row, taxon in enumerate(prediction.top_k):
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(str(row + 1)))
            item = QTableWidgetItem(taxon.name)
            item.setToolTip(f"label {taxon.label} · rank {taxon.rank}")
            self.table.setItem(row, 1, item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(int(round(taxon.probability * 1000)))
            bar.setFormat(percent(taxon.probability, 1))
            bar.setTextVisible(True)
            self.table.setCellWidget(row, 2, bar)

    def clear(self, message: str) -> None:
        self.prediction = None
        self.table.setRowCount(0)
        self.headline.setText(message)
        self.rollup.clear()

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and self.prediction is not None:
            self.alternative_chosen.emit(self.prediction.top_k[rows[0].row()].name)
