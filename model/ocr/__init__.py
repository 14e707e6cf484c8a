"""The CPU OCR grounder backend (``--model ocr``): RapidOCR reads the native screenshot,
text matching finds targets, and :class:`OcrModel` follows step-level instructions."""

from __future__ import annotations

from model.ocr.engine import OcrEngine, OcrResult, image_digest
from model.ocr.grounder import OcrGrounder
from model.ocr.instructions import Step, parse_instructions, parse_step
from model.ocr.model import OcrModel, load_ocr_model

__all__ = [
    "OcrEngine",
    "OcrGrounder",
    "OcrModel",
    "OcrResult",
    "Step",
    "image_digest",
    "load_ocr_model",
    "parse_instructions",
    "parse_step",
]
