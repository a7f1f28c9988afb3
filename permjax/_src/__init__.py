"""Implementation modules; import the public API from ``permjax``."""
