"""``ekyc bench run``: every suite in one run, one results document, one report.

Each suite is a function of a :class:`~benchmarks.suite.context.Context` returning a section
(latency ``stages``, ``peers``, ``throughput``, ``breakdown``, ``accuracy``, ``figures``); a
suite whose prerequisites are missing is skipped with the reason. The document layout is
described in benchmarks/README.md (``schema_version`` says which layout a file has).
"""

from benchmarks.suite.runner import SCHEMA_VERSION, SUITES, run_suites

__all__ = ["SCHEMA_VERSION", "SUITES", "run_suites"]
