"""A fake qsub / qstat / qacct / qdel for tests: checks each qsub as ABCI does, records every call,
and runs the job on this machine.

`install(folder, state)` writes the four commands into `folder` (put it first on PATH). qsub
answers like PBS Professional (`<n>.fakepbs`) or, given `-terse`, like Grid Engine (`<n>`).

What it checks, from ABCI's guides (the sources are cited in cg2real.cluster.resources/submit):
- ABCI 3.0 (PBS): `-P <group>` (one of $FAKE_SCHEDULER_GROUPS, if set), `-q` rt_HF / rt_HG /
  rt_HC, `-l select=N[:mpiprocs=M]` (no ncpus: the type fixes it) with N 1-128 for rt_HF and 1
  otherwise, `-l walltime` at most 168:00:00, N x hours at most 21,504 when N > 1, and
  `-v USE_SSH=1` only with rt_HF.
- ABCI 2.0 (Grid Engine): `-g <group>`, one `-l <type>=N` (rt_F 1-512; rt_G.large, rt_G.small,
  rt_C.large, rt_C.small 1), `-l h_rt` at most 72:00:00 (rt_F, *.large) or 168:00:00 (*.small),
  N x hours at most 2,304 when N > 1, `-l USE_SSH=1` only with rt_F, `-v SSH_PORT` in 2200-2299.
A rejected qsub prints the reason on stderr and exits 1, as the real one.

A job gets what a scheduler gives it, not qsub's whole environment: HOME, USER, LOGNAME, LANG, a
bare PATH, the `-v` variables (a bare NAME takes qsub's value) and, with `-V`, everything; plus
the host file ($PBS_NODEFILE: each host once per mpiprocs; $SGE_JOB_HOSTLIST: each host once),
with `localhost` for one node and fakenode1..N for more. PBS jobs start in $HOME, Grid Engine
ones (`-cwd`) in qsub's folder. With $FAKE_SCHEDULER_HOLD set for qsub, jobs stay queued.

qstat: `-x -f <id>...` (PBS, finished jobs too; a job deleted while queued has no Exit_status, one
deleted while running 256 + 15); plain `qstat` (Grid Engine: the queued and running jobs); `-j
<id>`. qacct -j: the Grid Engine record of a finished job (`deleted_by` when qdel killed it), none
for a job deleted while queued. qdel: deletes queued jobs, kills running ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COMMON = r'''
import json, os, re, signal, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_SCHEDULER_DIR"])


def record(kind, entry):
    with open(STATE / f"{kind}.jsonl", "a") as out:
        out.write(json.dumps(entry) + "\n")


def number_of(jobid):
    return jobid.split(".")[0]


def meta(jobid):
    path = STATE / f"{number_of(jobid)}.job" / "meta.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(data):
    path = STATE / f"{data['number']}.job" / "meta.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def exit_code(jobid):
    path = STATE / f"{number_of(jobid)}.exit"
    return int(path.read_text()) if path.exists() else None


def state_of(data):
    """queued, running, done, deleted_queued or deleted_running."""
    if data["state"] == "started":
        return "done" if exit_code(data["id"]) is not None else "running"
    return data["state"]
'''

QSUB = COMMON + r'''
TYPES = {  # type: (max nodes, max hours)
    "pbs": {"rt_HF": (128, 168), "rt_HG": (1, 168), "rt_HC": (1, 168)},
    "uge": {"rt_F": (512, 72), "rt_G.large": (1, 72), "rt_C.large": (1, 72), "rt_G.small": (1, 168),
            "rt_C.small": (1, 168)},
}
NODE_HOURS = {"pbs": 21504, "uge": 2304}


def values(flag):
    return [args[i + 1] for i, item in enumerate(args[:-1]) if item == flag]


def reject(message):
    record("qsub", {"args": args, "rejected": message})
    print(f"qsub: {message}", file=sys.stderr)
    sys.exit(1)


def hours(text):
    h, m, s = (int(p) for p in text.split(":"))
    return h + m / 60 + s / 3600


args = sys.argv[1:]
jobscript = Path(args[-1])
uge = "-terse" in args
kind = "uge" if uge else "pbs"
allowed = [g for g in os.environ.get("FAKE_SCHEDULER_GROUPS", "").split(",") if g]
exported = [item for value in values("-v") for item in value.split(",") if item]
exported_names = {item.split("=")[0]: item for item in exported}
group = (values("-g") if uge else values("-P")) or [""]
if not group[0]:
    reject("the ABCI group (-g / -P) is mandatory")
if allowed and group[0] not in allowed:
    reject(f"Unauthorized Request: you are not a member of group {group[0]}")
mpiprocs = 1
if uge:
    requests = values("-l")
    types = [r for r in requests if r.split("=")[0].startswith("rt_")]
    if len(types) != 1:
        reject(f"exactly one resource type is mandatory (-l rt_X=N), got {types}")
    rtype, count = types[0].split("=")
    walltime = [r.split("=")[1] for r in requests if r.startswith("h_rt=")]
    for item in requests:
        if item not in types and not item.startswith("h_rt=") and item != "USE_SSH=1":
            reject(f"unknown resource request {item}")
    if "USE_SSH=1" in requests and rtype != "rt_F":
        reject("USE_SSH needs rt_F")
    if "SSH_PORT" in exported_names and not 2200 <= int(exported_names["SSH_PORT"].split("=")[1]) <= 2299:
        reject("SSH_PORT must be in 2200-2299")
else:
    rtype = (values("-q") or [""])[0]
    selects = [r for r in values("-l") if r.startswith("select=")]
    if len(selects) != 1:
        reject("-l select=N is mandatory")
    parts = selects[0].removeprefix("select=").split(":")
    count = parts[0]
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key == "mpiprocs":
            mpiprocs = int(value)
        elif key != "ompthreads":
            reject(f"select: {key} cannot be set")
    walltime = [r.split("=")[1] for r in values("-l") if r.startswith("walltime=")]
    if "USE_SSH" in exported_names and rtype != "rt_HF":
        reject("USE_SSH needs rt_HF")
if rtype not in TYPES[kind]:
    reject(f"unknown resource type {rtype!r}")
nodes = int(count)
max_nodes, max_hours = TYPES[kind][rtype]
if not 1 <= nodes <= max_nodes:
    reject(f"{rtype} takes 1 to {max_nodes} nodes, not {nodes}")
asked = hours(walltime[0]) if walltime else 1.0
if asked > max_hours:
    reject(f"walltime {walltime[0]} exceeds {rtype}'s {max_hours} hours")
if nodes > 1 and nodes * asked > NODE_HOURS[kind]:
    reject(f"{nodes} nodes x {asked:.1f} h exceeds {NODE_HOURS[kind]} node-hours")

number = 1000
while True:
    try:
        (STATE / f"{number}.job").mkdir()
        break
    except FileExistsError:
        number += 1
jobid = str(number) if uge else f"{number}.fakepbs"
hosts = ["localhost"] if nodes == 1 else [f"fakenode{i}" for i in range(1, nodes + 1)]
host_file = STATE / f"{number}.job" / "hosts"
host_file.write_text("".join(f"{h}\n" * (1 if uge else mpiprocs) for h in hosts))
if "-V" in args:
    env = dict(os.environ)
else:
    env = {key: os.environ[key] for key in ("HOME", "USER", "LOGNAME", "LANG") if key in os.environ}
    env["PATH"] = "/usr/bin:/bin"
for item in exported:
    name, equals, value = item.partition("=")
    if equals:
        env[name] = value
    elif name in os.environ:
        env[name] = os.environ[name]
if uge:
    env.update(JOB_ID=jobid, SGE_JOB_HOSTLIST=str(host_file), NHOSTS=str(nodes), SGE_O_WORKDIR=os.getcwd())
else:
    env.update(PBS_JOBID=jobid, PBS_NODEFILE=str(host_file), PBS_O_WORKDIR=os.getcwd())
log = (values("-o") or [str(STATE / f"{number}.log")])[0]
data = {"number": number, "id": jobid, "kind": kind, "state": "queued", "log": log, "script": str(jobscript),
        "env": env, "cwd": os.getcwd() if uge else env.get("HOME", "/"), "name": (values("-N") or [""])[0]}
record("qsub", {"id": jobid, "args": args, "script": jobscript.read_text(), "env": env})


def start(data):
    exit_file = STATE / f"{data['number']}.exit"
    process = subprocess.Popen(
        ["sh", "-c", 'sh "$0" > "$1" 2>&1; echo $? > "$2.tmp"; mv "$2.tmp" "$2"', data["script"], data["log"],
         str(exit_file)],
        env=data["env"], cwd=data["cwd"], start_new_session=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    data.update(state="started", pid=process.pid)


if not os.environ.get("FAKE_SCHEDULER_HOLD"):
    start(data)
save(data)
print(jobid)
'''

QSTAT = COMMON + r'''
args = sys.argv[1:]
record("qstat", args)
if args[:2] == ["-x", "-f"]:
    unknown = []
    for jobid in args[2:]:
        data = meta(jobid)
        if data is None:
            unknown.append(jobid)
            continue
        state = state_of(data)
        letter = {"queued": "Q", "running": "R"}.get(state, "F")
        print(f"Job Id: {data['id']}\n    Job_Name = {data['name']}\n    job_state = {letter}")
        if state == "done":
            print(f"    Exit_status = {exit_code(jobid)}")
        elif state == "deleted_running":
            print("    Exit_status = 271")
        print()
    for jobid in unknown:
        print(f"qstat: Unknown Job Id {jobid}", file=sys.stderr)
    sys.exit(153 if unknown else 0)
elif not args:
    jobs = [json.loads(p.read_text()) for p in sorted(STATE.glob("*.job/meta.json"))]
    rows = [(d, {"queued": "qw", "running": "r"}.get(state_of(d))) for d in jobs if d["kind"] == "uge"]
    rows = [(d, s) for d, s in rows if s]
    if rows:
        print("job-ID     prior   name       user         state submit/start at     queue  jclass  slots ja-task-ID")
        print("-" * 100)
        for d, s in rows:
            print(f"{d['id']:>10} 0.25586 {d['name'][:10]:<10} fakeuser     {s:<5} 01/01/2026 00:00:00 gpu@g0001  80")
elif args[0] == "-j":
    data = meta(args[1])
    state = state_of(data) if data else None
    if state in ("queued", "running"):
        print(f"job_number:                 {args[1]}\njob_state             1:    {'qw' if state == 'queued' else 'r'}")
    else:
        print(f"Following jobs do not exist: \n{args[1]}", file=sys.stderr)
        sys.exit(1)
'''

QACCT = COMMON + r'''
jobid = sys.argv[-1]
record("qacct", sys.argv[1:])
data = meta(jobid)
state = state_of(data) if data else None
if state not in ("done", "deleted_running"):
    print(f"error: job id {jobid} not found", file=sys.stderr)
    sys.exit(1)
deleted = state == "deleted_running"
print("==============================================================")
print(f"jobnumber    {jobid}\nfailed       {'100 : assumedly after job' if deleted else 0}")
print(f"deleted_by   {'fakeuser@login1' if deleted else 'NONE'}\nexit_status  {137 if deleted else exit_code(jobid)}")
'''

QDEL = COMMON + r'''
record("qdel", sys.argv[1:])
for jobid in sys.argv[1:]:
    data = meta(jobid)
    if data is None:
        print(f"qdel: Unknown Job Id {jobid}", file=sys.stderr)
        continue
    state = state_of(data)
    if state == "queued":
        data["state"] = "deleted_queued"
    elif state == "running":
        try:
            os.killpg(data["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        data["state"] = "deleted_running"
    save(data)
    print(f"fakeuser has registered the job {jobid} for deletion")
'''


def install(folder: Path, state: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    for name, body in (("qsub", QSUB), ("qstat", QSTAT), ("qacct", QACCT), ("qdel", QDEL)):
        path = folder / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)


def calls(state: Path, kind: str) -> list:
    """What the fake `kind` (qsub, qstat, qacct, qdel) was called with, in order (a rejected qsub
    has `rejected` and no `id`)."""
    path = state / f"{kind}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def submitted(state: Path) -> list:
    """The accepted qsub calls."""
    return [call for call in calls(state, "qsub") if "id" in call]
