"""Preferences, the model card viewer and the About box."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from shellgui import __version__
from shellgui.core.modelcard import ModelCard
from shellgui.core.models import open_set_words
from shellgui.core.settings import PROVIDER_CHOICES, Settings

DATA_ATTRIBUTION = (
    "The bundled default model was trained on a subset of Zhang Q., Zhou J., He J. et al., "
    "“A shell dataset, for shell features extraction and recognition”, <i>Scientific Data</i> 6, 226 (2019), "
    "doi:10.1038/s41597-019-0230-3."
)


class PreferencesDialog(QDialog):
    """Top-k, execution provider, catalogue location, batch size and the name recorded on checks."""

    def __init__(self, settings: Settings, catalog_display: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 20)
        self.top_k.setValue(settings.top_k)
        self.provider = QComboBox()
        for choice, text in zip(
            PROVIDER_CHOICES, ("Automatic (GPU when available)", "NVIDIA GPU (CUDA)", "CPU")
        ):
            self.provider.addItem(text, choice)
        self.provider.setCurrentIndex(PROVIDER_CHOICES.index(settings.provider))
        self.int8 = QCheckBox("Use the int8 model on the CPU when the model has one (faster)")
        self.int8.setChecked(settings.prefer_int8)
        self.batch = QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setValue(settings.batch_size)
        self.catalog = QLineEdit(settings.catalog or catalog_display)
        self.catalog.setToolTip("A SQLite file, or a SQLAlchemy URL such as postgresql+psycopg://host/shells")
        self.catalog.setMinimumWidth(440)
        self.catalog.setCursorPosition(0)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.catalog, 1)
        row.addWidget(browse)
        self.user = QLineEdit(settings.user_name)
        self.user.setPlaceholderText("recorded as identifiedBy when you check an identification")
        self.media_url = QLineEdit(settings.media_base_url)
        self.media_url.setPlaceholderText(
            "https://… where the photos are published (Darwin Core associatedMedia)"
        )
        self.dataset_title = QLineEdit(settings.dataset_title)
        form = QFormLayout()
        form.addRow("Taxa shown", self.top_k)
        form.addRow("Run the model on", self.provider)
        form.addRow("", self.int8)
        form.addRow("Batch size", self.batch)
        form.addRow("Catalogue", row)
        form.addRow("Your name", self.user)
        form.addRow("Data set title", self.dataset_title)
        form.addRow("Photos published at", self.media_url)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Catalogue file",
            self.catalog.text(),
            "SQLite catalogue (*.sqlite *.db)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.catalog.setText(path)

    def apply_to(self, settings: Settings) -> None:
        settings.top_k = self.top_k.value()
        settings.provider = self.provider.currentData()
        settings.prefer_int8 = self.int8.isChecked()
        settings.batch_size = self.batch.value()
        settings.catalog = self.catalog.text().strip()
        settings.user_name = self.user.text().strip()
        settings.media_base_url = self.media_url.text().strip()
        settings.dataset_title = self.dataset_title.text().strip() or settings.dataset_title


def _unknown_photo_names(prefix: str, what: str) -> dict[str, str]:
    """Readable names of the open-set metrics the trainer writes for one kind of unknown photo."""
    return {
        f"{prefix}_photos": what,
        f"{prefix}_auroc": f"{what}: told from known ones (AUROC, 1 is perfect)",
        f"{prefix}_fpr_at_95_tpr": f"{what}: still accepted when 95% of known are (0 is perfect)",
        f"{prefix}_answered_species": f"{what}: named to species (share)",
        f"{prefix}_answered_any_taxon": f"{what}: named with any taxon (share)",
    }


METRIC_NAMES = {
    "test_top1": "Top-1 accuracy (held-out test photos)",
    "test_top3": "Top-3 accuracy (held-out test photos)",
    "test_macro_f1": "Macro-F1 (held-out test photos)",
    "val_top1": "Top-1 accuracy (validation photos)",
    "test_photos": "Test photos",
    "ece_after": "Calibration error after scaling (0 is perfect)",
    "test_answered": "Test photos answered with a taxon (share)",
    "test_kept_open_set": "Test photos kept by the unknown-photo check (share)",
    **_unknown_photo_names("near_ood", "Photos of held-out taxa"),
    **_unknown_photo_names("far_ood", "Outlier photos"),
}
START_NAMES = {"none": "trained from scratch", "imagenet": "fine-tuned from ImageNet weights"}


def _metric(key: str, value: float) -> str:
    shown = f"{int(value)}" if key.endswith("photos") else f"{value:.3f}"
    return f"<tr><td>{html.escape(METRIC_NAMES.get(key, key))}</td><td align=right>{shown}</td></tr>"


def card_html(card: ModelCard, path: str, device: str = "") -> str:
    """A readable model card: taxa, metrics, training date, data source, preprocessing."""
    e = html.escape
    prov = card.provenance
    metrics = "".join(_metric(k, v) for k, v in sorted(card.metrics.items()))
    weights = str(prov.get("weights", "?"))
    start = START_NAMES.get(weights, f"fine-tuned from {weights}")
    taxa = "".join(
        f"<tr><td><i>{e(t.name)}</i></td><td>{e(t.rank)}</td><td>{e(t.family)}</td></tr>" for t in card.taxa
    )
    thresholds = ", ".join(f"{k} ≥ {v:.2f}" for k, v in card.thresholds.items())
    pre = card.preprocessing
    return f"""
<h2>{e(card.name)} {e(card.version)}</h2>
<p><b>File:</b> {e(path)}{f"<br><b>Running on:</b> {e(device)}" if device else ""}</p>
<p><b>Architecture:</b> {e(str(prov.get("architecture", "?")))}, {e(start)}<br>
<b>Trained:</b> {e(str(prov.get("trained_at", "?")))}<br>
<b>Data:</b> {e(str(prov.get("data_source", "?")))}<br>
<b>Training data hash:</b> <code>{e(str(prov.get("training_data_hash", "?"))[:16])}…</code></p>
<h3>How good it is</h3><table border=0 cellspacing=6>{metrics or "<tr><td>no metrics recorded</td></tr>"}</table>
<p><b>Calibration:</b> temperature {card.temperature:.3f}; answers are given at a rank only when {e(thresholds)}.</p>
<p><b>Unknown photos:</b> {e(open_set_words(card))}</p>
<p><b>Input:</b> {pre.input_size}×{pre.input_size} px (shorter side resized to {pre.resize_size}, {e(pre.interpolation)})</p>
<h3>{card.num_classes} taxa</h3><table border=0 cellspacing=4><tr><th>Taxon</th><th>Rank</th><th>Family</th></tr>
{taxa}</table>"""


def show_card(card: ModelCard, path: str, device: str, parent: QWidget | None) -> None:
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Model card — {card.name}")
    dialog.resize(560, 640)
    view = QTextBrowser()
    view.setHtml(card_html(card, path, device))
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(view)
    layout.addWidget(buttons)
    dialog.exec()


def show_about(parent: QWidget | None, card: ModelCard | None) -> None:
    model = ""
    if card is not None:
        model = (
            f"<p><b>Model:</b> {html.escape(card.name)} {html.escape(card.version)}, "
            f"{html.escape(str(card.provenance.get('architecture', '')))}; data: "
            f"{html.escape(str(card.provenance.get('data_source', '')))}</p>"
        )
    QMessageBox.about(
        parent,
        "About shellgui",
        f"""
<h3>shellgui {__version__}</h3>
<p>Identify mollusc shells from photos and keep a specimen catalogue.<br>
EfficientNetV2 models run by ONNX Runtime; catalogue in SQLite (or any SQLAlchemy database).</p>
{model}
<p>{DATA_ATTRIBUTION}</p>
<p>Built with Qt (PySide6), ONNX Runtime, SQLAlchemy, Alembic, Pillow and NumPy.</p>""",
    )
