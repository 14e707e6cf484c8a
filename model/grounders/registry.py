"""``load_grounder(spec)``: the grounder a ``--grounder`` spec names."""

from __future__ import annotations

from typing import Any

from model.grounders.base import DescriptionGrounder


def load_grounder(spec: str, **settings: Any) -> DescriptionGrounder:
    """``ocr`` (the CPU OCR grounder), ``scripted:FILE`` (a fake: recorded answers), or any
    model spec whose family grounds (its grounding prompt and dialect)."""
    if spec == "ocr" or spec.startswith("ocr:"):
        from model.grounders.ocr import load_ocr_grounder

        return load_ocr_grounder(spec.partition(":")[2], **settings)
    if spec.startswith("scripted:"):
        from model.grounders.scripted import load_scripted_grounder

        return load_scripted_grounder(spec.partition(":")[2], **settings)
    from model.grounders.family import load_family_grounder

    return load_family_grounder(spec, **settings)
