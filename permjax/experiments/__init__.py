"""Experiments built on the permjax library (thin entry points)."""
