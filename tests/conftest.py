"""Shared fixtures. Numbers copied from ../shared/SPEC.md live in the tests."""

import jax
import pytest


@pytest.fixture
def key():
  return jax.random.key(20250223)
