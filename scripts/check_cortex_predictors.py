"""Run `validate`'s predictor checks over every predictor.py in a clone of cortexlabs/cortex, at each
release tag from v0.19.0 to v0.31.1, with the spec(s) beside it, and over the guides' predictors
(tests/fixtures/guides); print each error and each config-read warning, and a summary.

    python scripts/check_cortex_predictors.py CORTEX_GIT_DIR [--tags v0.19.0..v0.31.1]

Cortex's own runtime code (pkg/) is skipped. Spec errors about what KServe cannot run (BatchAPI,
AsyncAPI, compute.inf) are not the predictor checks' business: such APIs are read as RealtimeAPIs
without `compute.inf`, and the reads of a BatchAPI's config are listed apart (Cortex merged the job
submission's config into it, so no key is ever certainly missing). A predictor without a spec is
checked as `type: python` with no config.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kserve_bridge.errors import SpecError  # noqa: E402
from kserve_bridge.spec import load_spec  # noqa: E402

GUIDES = REPO / "tests" / "fixtures" / "guides"
DEFAULT_SPEC = [{"name": "api", "kind": "RealtimeAPI", "predictor": {"type": "python", "path": "predictor.py"}}]


def git(gitdir: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", gitdir, *args], check=True, capture_output=True).stdout


def tags_between(gitdir: str, first: str, last: str) -> list[str]:
    def key(tag: str) -> tuple[int, ...]:
        return tuple(int(p) for p in tag.lstrip("v").split("."))
    tags = [t for t in git(gitdir, "tag").decode().split() if t.startswith("v") and t[1:].replace(".", "").isdigit()]
    return sorted((t for t in tags if key(first) <= key(t) <= key(last)), key=key)


def check(project: Path) -> tuple[list[str], list[str], list[str], int]:
    """(errors, config-read warnings, BatchAPI config reads (errors or warnings), checks run) for the predictor.py
    in `project`."""
    specs = sorted(p for p in project.iterdir() if p.suffix in (".yaml", ".yml") and "cortex" in p.name)
    errors, warnings, batch_reads, runs = [], [], [], 0
    for spec in specs or [None]:
        data = yaml.safe_load(spec.read_text()) if spec else DEFAULT_SPEC
        apis = [a for a in data or [] if isinstance(a, dict) and (a.get("predictor") or {}).get("path") ==
                "predictor.py"]
        for api in apis:
            batch = api.get("kind") in ("BatchAPI", "AsyncAPI")
            api["kind"] = "RealtimeAPI"
            (api.get("compute") or {}).pop("inf", None)
            runs += 1
            where = f"[{spec.name if spec else 'no spec'}]"
            try:
                with contextlib.redirect_stderr(io.StringIO()):  # printed again below, or not counted
                    notes = load_spec([api], project_dir=project).notes
            except SpecError as exc:
                for problem in exc.problems:
                    line = f"{problem.format()} {where}"
                    (batch_reads if batch and "reads config[" in problem.message else errors).append(line)
            else:
                reads = [f"{n.format()} {where}" for n in notes if n.level == "warning" and
                         "reads config[" in n.message]
                (batch_reads if batch else warnings).extend(reads)
    return errors, warnings, batch_reads, runs


def projects(gitdir: str, tags: str) -> Iterator[tuple[str, str, Path]]:
    """(label, temporary root, project directory) for each predictor.py of Cortex at each tag, then each guide."""
    first, last = tags.split("..")
    for tag in tags_between(gitdir, first, last):
        names = [n for n in git(gitdir, "ls-tree", "-r", "--name-only", tag).decode().splitlines()
                 if n.split("/")[-1] == "predictor.py" and not n.startswith("pkg/")]
        for name in names:
            folder = name.rsplit("/", 1)[0] if "/" in name else "."
            with tempfile.TemporaryDirectory() as tmp:
                with tarfile.open(fileobj=io.BytesIO(git(gitdir, "archive", tag, folder))) as tar:
                    tar.extractall(tmp, filter="data")
                yield tag, tmp, Path(tmp) / folder
    for spec in sorted(GUIDES.glob("*.cortex.yaml")):
        guide = spec.name.removesuffix(".cortex.yaml")
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(spec, Path(tmp) / "cortex.yaml")
            shutil.copy(GUIDES / f"{guide}.predictor.py", Path(tmp) / "predictor.py")
            yield f"guide {guide}", tmp, Path(tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gitdir")
    parser.add_argument("--tags", default="v0.19.0..v0.31.1")
    args = parser.parse_args()
    totals = dict.fromkeys(("files", "checks", "errors", "config-read warnings", "batch config reads"), 0)
    for label, root, project in projects(args.gitdir, args.tags):
        errors, warnings, batch_reads, runs = check(project)
        for kind, lines in (("error", errors), ("warning", warnings)):
            for line in lines:
                print(f"{label} {kind}: {line.replace(root + '/', '')}")
        totals["files"] += 1
        totals["checks"] += runs
        totals["errors"] += len(errors)
        totals["config-read warnings"] += len(warnings)
        totals["batch config reads"] += len(batch_reads)
    print(", ".join(f"{k}: {v}" for k, v in totals.items()))
    return 1 if totals["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
