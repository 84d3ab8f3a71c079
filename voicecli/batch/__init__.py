"""`voicecli batch`: many questions from a JSONL file (or a folder of recordings), resumable.

Library use (no typer needed)::

    summary = asyncio.run(run_batch(load_settings(), Path("jobs.jsonl"), Path("out"), jobs=4))
"""

from voicecli.batch.jobs import BadJob, Job, JobList, load_jobs
from voicecli.batch.results import RESULTS_NAME, JobResult, read_records
from voicecli.batch.retry import is_retryable
from voicecli.batch.runner import BatchSummary, run_batch

__all__ = [
    "RESULTS_NAME",
    "BadJob",
    "BatchSummary",
    "Job",
    "JobList",
    "JobResult",
    "is_retryable",
    "load_jobs",
    "read_records",
    "run_batch",
]
