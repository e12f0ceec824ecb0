"""What a project imports, read statically: never imports the user's code.

`project_imports` follows predictor.py into the project's own modules; `requirement_names`
reads the pip requirements file. Both feed the choice of runtime and its warnings.
"""
from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 200
MAX_BYTES = 2 * 1024 * 1024
# Import name -> distribution name, where they differ (requirements.txt speaks distributions).
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
                   "skimage": "scikit-image", "bs4": "beautifulsoup4", "dotenv": "python-dotenv",
                   "google": "protobuf", "attr": "attrs", "dateutil": "python-dateutil"}
# Distributions that provide the same import under another name (GPU / CPU builds).
ALSO_PROVIDES = {"tensorflow-cpu": "tensorflow", "tensorflow-gpu": "tensorflow", "onnxruntime-gpu": "onnxruntime",
                 "opencv-python-headless": "opencv-python", "tf-keras": "keras", "pillow-simd": "pillow"}


@dataclass(frozen=True)
class Import:
    module: str  # top-level import name
    file: str  # project-relative
    line: int


def normalize(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution(module: str) -> str:
    return normalize(DISTRIBUTION_OF.get(module, module))


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
                name = normalize(match.group(1))
                names.add(name)
                if name in ALSO_PROVIDES:
                    names.add(ALSO_PROVIDES[name])
    return names
