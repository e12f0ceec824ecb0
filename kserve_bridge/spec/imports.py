"""What a project imports, read statically: never imports the user's code.

`project_imports` follows predictor.py into the project's own modules; `requirement_names`
reads the pip requirements file and `listed_modules` says which import names those distributions
provide: from their installed metadata (top_level.txt, else RECORD), guessed from the name when a
distribution is not installed here (then a warning says so). Both feed the choice of runtime and
its warnings.
"""
from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 200
MAX_BYTES = 2 * 1024 * 1024
# Import name -> distribution name, where they differ (requirements.txt speaks distributions).
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
                   "skimage": "scikit-image", "bs4": "beautifulsoup4", "dotenv": "python-dotenv",
                   "google": "protobuf", "attr": "attrs", "dateutil": "python-dateutil"}
# Builds of a distribution under another name (GPU / CPU / slim builds), for names guessed without metadata.
ALSO_PROVIDES = {"opencv-python-headless": "opencv-python", "opencv-contrib-python": "opencv-python",
                 "pillow-simd": "pillow"}


@dataclass(frozen=True)
class Import:
    module: str  # top-level import name
    file: str  # project-relative
    line: int


def normalize(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution(module: str) -> str:
    """The distribution to install for an import name: the known exceptions, else the one installed
    distribution that provides it (package metadata), else the import name itself."""
    if module in DISTRIBUTION_OF:
        return normalize(DISTRIBUTION_OF[module])
    installed = _installed_providers().get(module, [])
    return normalize(installed[0] if len(set(installed)) == 1 else module)


@functools.cache
def _installed_providers() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())  # ~0.5 s: asked only for a warning's advice


def _local(project: Path, roots: list[Path], dotted: str, names: tuple[str, ...] = ()) -> list[Path]:
    """The project's own files an import reaches (empty when it is not the project's)."""
    parts = dotted.split(".")
    for root in roots:
        base = root / parts[0]
        if not ((root / f"{parts[0]}.py").is_file() or (base / "__init__.py").is_file()):
            continue
        found, here = [], root
        for part in parts + list(names):
            for candidate in (here / f"{part}.py", here / part / "__init__.py"):
                if candidate.is_file() and project in candidate.resolve().parents:
                    found.append(candidate.resolve())
            here = here / part
        return found or [root]  # a local name even if the rest is not a file
    return []


def _parse(path: Path) -> ast.AST | None:
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None  # syntax errors are the predictor check's to report


def project_imports(project: Path, entry: str, python_path: str | None = None) -> list[Import]:
    """Third-party and stdlib top-level imports of `entry` and of the project modules it reaches.

    Project-local modules (beside the entry, at the project root or under python_path) are
    followed, not listed; each module is listed once, at its first import.
    """
    project = project.resolve()
    start = (project / entry).resolve()
    roots = [start.parent, project] + ([project / python_path] if python_path else [])
    queue, seen_files, found = [start], set[Path](), dict[str, Import]()
    while queue and len(seen_files) < MAX_FILES:
        path = queue.pop(0)
        if path in seen_files or not path.is_file():
            continue
        seen_files.add(path)
        tree = _parse(path)
        if tree is None:
            continue
        for node in ast.walk(tree):
            names: list[tuple[str, tuple[str, ...]]]
            if isinstance(node, ast.Import):
                names = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [(node.module, tuple(alias.name for alias in node.names))]
            elif isinstance(node, ast.ImportFrom):  # relative: the project's own
                base = path.parent.joinpath(*[".."] * (node.level - 1)) / (node.module or "").replace(".", "/")
                candidates = [base / "__init__.py"] + [base / f"{a.name}.py" for a in node.names]
                if node.module:
                    candidates.append(base.with_suffix(".py"))
                queue += [p.resolve() for p in candidates if p.is_file()]
                continue
            else:
                continue
            for name, members in names:
                top = name.split(".")[0]
                local = _local(project, roots, name, members)
                if local:
                    queue += [f for f in local if f.is_file()]
                elif top not in found:
                    found[top] = Import(top, str(path.relative_to(project)), node.lineno)
    return sorted(found.values(), key=lambda i: (i.file != entry, i.file, i.line))


def third_party(imports: list[Import]) -> list[Import]:
    return [i for i in imports if i.module not in sys.stdlib_module_names and i.module != "__future__"]


def requirement_names(project: Path, pip_file: str) -> set[str]:
    """Normalised distribution names in a requirements file (nested -r files are followed inside the
    project; URLs, options and environment markers are ignored)."""
    names: set[str] = set()
    root = project.resolve()
    pending, read = [root / pip_file], set()
    while pending:
        path = pending.pop().resolve()
        if path in read or root not in path.parents or not path.is_file():
            continue
        read.add(path)
        for raw in path.read_text(errors="replace").splitlines():
            line = raw.split(" #")[0].strip()
            if line.startswith(("-r ", "--requirement ")):
                pending.append(path.parent / line.split(None, 1)[1].strip())
                continue
            match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
            if match and not line.startswith("-"):
                names.add(normalize(match.group(1)))
    return names


@dataclass
class Listed:
    """Import names the listed distributions provide (import name -> distribution)."""

    modules: dict[str, str] = field(default_factory=dict)
    guessed: set[str] = field(default_factory=set)  # listed distributions not installed here: names guessed


def listed_modules(distributions: set[str]) -> Listed:
    listed = Listed()
    for dist in sorted(distributions):
        try:
            names = installed_top_level(importlib.metadata.distribution(dist))
        except importlib.metadata.PackageNotFoundError:
            names = guessed_top_level(dist)
            listed.guessed.add(dist)
        for name in names:
            listed.modules.setdefault(name, dist)
    return listed


def installed_top_level(dist: importlib.metadata.Distribution) -> set[str]:
    """The import names an installed distribution provides: top_level.txt, else the files it installed."""
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip().replace("/", ".").split(".")[0] for line in text.splitlines() if line.strip()}
    names = set()
    for file in dist.files or []:
        top = file.parts[0]
        if len(file.parts) == 1 and top.endswith((".py", ".so", ".pyd")):
            names.add(top.split(".")[0])
        elif len(file.parts) > 1 and not top.endswith((".dist-info", ".egg-info", ".data")) and \
                top not in ("..", "__pycache__", "bin"):
            names.add(top)
    return names


def guessed_top_level(dist: str) -> set[str]:
    """Import names a distribution that is not installed here probably provides: its name as an
    import name, its first word (mlflow-skinny, tensorflow-cpu, google-cloud-storage) and the known
    exceptions (scikit-learn: sklearn)."""
    dist = normalize(ALSO_PROVIDES.get(dist, dist))
    known = {module for module, name in DISTRIBUTION_OF.items() if normalize(name) == dist}
    return {dist.replace("-", "_"), dist.split("-")[0]} | known
