"""Confidences as people read them: a rounded percentage never claims more certainty than the model has.

``f"{0.998:.0%}"`` prints "100%", which reads as certainty; a calibrated probability below 1 is shown as
"> 99%" instead, and one above 0 as "< 1%" rather than "0%".
"""

from __future__ import annotations


def percent(probability: float, digits: int = 0) -> str:
    """``probability`` (0..1) as a percentage with ``digits`` decimals, never rounded up to 100 % or down
    to 0 % when it is not exactly that."""
    p = float(probability)
    text, step = f"{p:.{digits}%}", 10.0**-digits
    if p < 1.0 and text == f"{1.0:.{digits}%}":
        return f"> {100 - step:.{digits}f}%"
    if p > 0.0 and text == f"{0.0:.{digits}%}":
        return f"< {step:.{digits}f}%"
    return text
