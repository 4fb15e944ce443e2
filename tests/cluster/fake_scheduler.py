"""A fake qsub / qstat / qacct for tests: records each call and runs the job on this machine.

`install(folder, state)` writes the three commands into `folder` (put it first on PATH). qsub
answers like PBS Professional (`<n>.fakepbs`) or, given `-terse`, like Grid Engine (`<n>`); it
writes the job's output to its `-o` file, gives the job the scheduler's host file variables, and
runs it in the background. qstat/qacct answer from the job's exit-code file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COMMON = '''
import json, os, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_SCHEDULER_DIR"])


def record(kind, entry):
    with open(STATE / f"{kind}.jsonl", "a") as out:
        out.write(json.dumps(entry) + "\\n")


def exit_code(jobid):
    path = STATE / f"{jobid.split('.')[0]}.exit"
    return int(path.read_text()) if path.exists() else None
'''

QSUB = COMMON + '''
args = sys.argv[1:]
jobscript = Path(args[-1])
number = 1000
while True:
    try:
        (STATE / f"{number}.job").mkdir()
        break
    except FileExistsError:
        number += 1
uge = "-terse" in args
jobid = str(number) if uge else f"{number}.fakepbs"
hosts = STATE / f"{number}.job" / "hosts"
hosts.write_text("localhost\\n")
env = dict(os.environ)
env.update({"JOB_ID": jobid, "SGE_JOB_HOSTLIST": str(hosts)} if uge else {"PBS_JOBID": jobid, "PBS_NODEFILE": str(hosts)})
record("qsub", {"id": jobid, "args": args, "script": jobscript.read_text()})
log = args[args.index("-o") + 1]
exit_file = STATE / f"{number}.exit"
subprocess.Popen(
    ["sh", "-c", 'sh "$0" > "$1" 2>&1; echo $? > "$2.tmp"; mv "$2.tmp" "$2"', str(jobscript), log, str(exit_file)],
    env=env, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
print(jobid)
'''

QSTAT = COMMON + '''
args = sys.argv[1:]
record("qstat", args)
jobid = args[-1]
code = exit_code(jobid)
if args[:2] == ["-x", "-f"]:
    state = "R" if code is None else "F"
    print(f"Job Id: {jobid}\\n    job_state = {state}")
    if code is not None:
        print(f"    Exit_status = {code}")
elif code is None:
    print(f"job_number:                 {jobid}\\njob_state             1:    r")
else:
    print(f"Following jobs do not exist: \\n{jobid}", file=sys.stderr)
    sys.exit(1)
'''

QACCT = COMMON + '''
jobid = sys.argv[-1]
record("qacct", sys.argv[1:])
code = exit_code(jobid)
if code is None:
    print(f"error: job id {jobid} not found", file=sys.stderr)
    sys.exit(1)
print(f"==============================================================\\njobnumber    {jobid}\\nfailed       0\\nexit_status  {code}")
'''


def install(folder: Path, state: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    for name, body in (("qsub", QSUB), ("qstat", QSTAT), ("qacct", QACCT)):
        path = folder / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)


def calls(state: Path, kind: str) -> list:
    """What the fake `kind` (qsub, qstat, qacct) was called with, in order."""
    path = state / f"{kind}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
