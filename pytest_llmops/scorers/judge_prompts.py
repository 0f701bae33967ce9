"""Old import path; the code lives in scorers/judge/prompts.py."""

from __future__ import annotations

from .judge.prompts import (
    NONCE_LENGTH,
    PACKAGE_TEMPLATES,
    RenderedPrompt,
    check_template_dir,
    fence,
    fence_nonce,
    render,
    require_fenced,
)

__all__ = [
    "NONCE_LENGTH",
    "PACKAGE_TEMPLATES",
    "RenderedPrompt",
    "check_template_dir",
    "fence",
    "fence_nonce",
    "render",
    "require_fenced",
]
