"""Prompts per model family, as backend-neutral message lists (see :mod:`.messages`)."""

from model.prompts.families import FAMILIES, Family, get_family, guess_family, resolve_family
from model.prompts.messages import (
    ImagePart,
    Message,
    build_messages,
    describe,
    image_part,
    iter_images,
    text_part,
)

__all__ = [
    "FAMILIES",
    "Family",
    "ImagePart",
    "Message",
    "build_messages",
    "describe",
    "get_family",
    "guess_family",
    "image_part",
    "iter_images",
    "resolve_family",
    "text_part",
]
