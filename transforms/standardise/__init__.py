"""Standardisation of identity fields: a display form kept for people, a folded form for matching."""
