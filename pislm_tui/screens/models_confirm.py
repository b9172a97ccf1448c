"""Moved: the one yes/no dialog is `pislm_tui.screens.dialog.ConfirmScreen`. This name stays
until tabs/rag.py imports it from there."""

from pislm_tui.screens.dialog import ConfirmScreen

__all__ = ["ConfirmScreen"]
