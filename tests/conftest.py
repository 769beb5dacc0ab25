"""Hypothesis profiles (:data:`kdtheory.strategies.PROFILES`): ``ci`` (deterministic, sized for
2 cores; the default) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough pytest``, for local bug
hunts)."""

import os

import pytest

from kdtheory.strategies import load_profile

load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def dask_cluster():
    """A two-worker ``dask.distributed`` LocalCluster (one thread each; the dashboard on a free
    port, so parallel test processes do not collide), shared by the tests of one process."""
    distributed = pytest.importorskip("distributed")  # installed by the test extra
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster
