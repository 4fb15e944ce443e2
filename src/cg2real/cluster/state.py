"""What the submit and status commands remember between their calls, in the Snakemake working folder.

Each call is a new process (Snakemake's cluster-generic executor starts one per submission and per
status query), so what one must tell another goes to small JSON files under
`.snakemake/cg2real-cluster/`:

- per job id: the job script it ran, its log, the attempt, and once known its outcome and why;
- per job script: a rejected submission (Snakemake writes one script per job and run, in a folder
  of its own per run, and submits it again on a retry: so a later attempt of the same job sees
  the rejection or the deletion of an earlier one and is not sent again);
- the last batched qstat answer (one qstat serves the status queries of many jobs).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

FOLDER = Path(".snakemake") / "cg2real-cluster"


def _write(path: Path, data: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        json.dump(data, out)
    os.replace(temporary, path)


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class JobState:
    def __init__(self, folder: Path = FOLDER):
        self.folder = Path(folder)

    def _job(self, jobid: str) -> Path:
        return self.folder / "jobs" / f"{_key(jobid)}.json"

    def _script(self, jobscript: Path) -> Path:
        digest = hashlib.sha1(str(Path(jobscript).absolute()).encode()).hexdigest()[:16]
        return self.folder / "rejected" / f"{digest}.json"

    def submitted(self, jobid: str, **record: object) -> None:
        _write(self._job(jobid), {"jobid": jobid, **record})

    def get(self, jobid: str) -> dict:
        return _read(self._job(jobid)) or {}

    def update(self, jobid: str, **fields: object) -> dict:
        record = {**self.get(jobid), "jobid": jobid, **fields}
        _write(self._job(jobid), record)
        return record

    def jobs(self) -> list[dict]:
        folder = self.folder / "jobs"
        return [record for path in sorted(folder.glob("*.json")) if (record := _read(path))] if folder.is_dir() else []

    def earlier(self, jobscript: Path) -> list[dict]:
        """The submissions of this job script so far (its earlier attempts in this Snakemake run)."""
        script = str(Path(jobscript).absolute())
        return sorted((r for r in self.jobs() if r.get("jobscript") == script), key=lambda r: r.get("attempt", 0))

    def active(self) -> list[str]:
        """Ids of submitted jobs whose outcome is not known yet."""
        return [r["jobid"] for r in self.jobs() if "outcome" not in r]

    def reject(self, jobscript: Path, message: str) -> None:
        _write(self._script(jobscript), {"jobscript": str(Path(jobscript).absolute()), "message": message})

    def rejection(self, jobscript: Path) -> str | None:
        record = _read(self._script(jobscript))
        return record["message"] if record else None

    def cache(self) -> dict:
        return _read(self.folder / "qstat-cache.json") or {}

    def store_cache(self, data: dict) -> None:
        _write(self.folder / "qstat-cache.json", data)
