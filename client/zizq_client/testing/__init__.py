"""Testing helpers: ``FakeClient`` (buffers enqueues, runs them through the
real dispatcher) and ``ZizqServer`` (a real ``zizq serve`` on port 0); the
pytest fixtures ``zizq_jobs`` and ``zizq_server`` wrap them."""
