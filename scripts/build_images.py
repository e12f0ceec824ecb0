"""Build (and push) every model-server image the runtimes in manifests/base name.

    python scripts/build_images.py --registry registry.example.com/ml [--push] [--only torch-gpu] [--dry-run]

One `docker build` per entry of kserve_bridge.runtimes.RUNTIMES, from the one Dockerfile, tagged
<registry>/modelserver:<version>-<tag>. --dry-run prints the commands instead of running them.
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kserve_bridge.runtimes import IMAGE_REPO, RUNTIMES, Runtime  # noqa: E402


def commands(rt: Runtime, repo: str, push: bool) -> list[list[str]]:
    image = rt.image(repo)
    out = [["docker", "build", "--build-arg", f"EXTRAS={rt.extras}", "--build-arg", f"ACCEL={rt.accelerator}",
            "-t", image, str(REPO)]]
    return out + ([["docker", "push", image]] if push else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default=IMAGE_REPO.rsplit("/", 1)[0],
                        help="where the images go (default: %(default)s); the image name is modelserver")
    parser.add_argument("--push", action="store_true", help="docker push each image after building it")
    parser.add_argument("--only", action="append", metavar="TAG", help="build only these tags (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    tags = {rt.tag for rt in RUNTIMES}
    unknown = set(args.only or ()) - tags
    if unknown:
        parser.error(f"unknown tag(s) {', '.join(sorted(unknown))}; tags: {', '.join(sorted(tags))}")
    repo = f"{args.registry.rstrip('/')}/modelserver"
    for rt in RUNTIMES:
        if args.only and rt.tag not in args.only:
            continue
        for command in commands(rt, repo, args.push):
            print("+ " + shlex.join(command), flush=True)
            if not args.dry_run:
                subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
