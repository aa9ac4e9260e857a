"""Reflex states that pages and components share (who is signed in, preferences, the board and part states the dialogs refresh)."""
