import pytest

from .keys import Issuer


@pytest.fixture(scope="session")
def issuer():
    return Issuer()


@pytest.fixture(scope="session")
def stranger():
    """An issuer nobody trusts."""
    return Issuer()
