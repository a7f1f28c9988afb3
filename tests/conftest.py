"""Shared fixtures. Golden numbers (from the papers and from independent float64
computations of the closed forms in docs/theory/) live in the tests."""

import jax
import pytest


@pytest.fixture
def key():
  return jax.random.key(20250223)
