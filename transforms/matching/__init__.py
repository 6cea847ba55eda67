"""Matching source records: blocking, comparison, an unsupervised Fellegi-Sunter model, clustering."""
