#!/usr/bin/env python3
"""Share of a set of locustfiles' tasks that `ringblast convert` converts without a warning.

Usage: scripts/locustfile_coverage.py RINGBLAST DIR
DIR holds the locustfiles and manifest.tsv (file, repository, path, commit). A task is a function
Locust would run: decorated with @task, or named in a class's `tasks`/`task_set`. It converts
without a warning when convert's summary lists a request on one of its lines and no warning
falls on them. Prints one row per file, then the totals (Markdown).
"""
import ast
import re
import subprocess
import sys
from pathlib import Path


def tasks_of(tree):
    """(name, first line, last line) of each function Locust would run as a task."""
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id in ("tasks", "task_set"):
                    v = node.value
                    items = v.keys if isinstance(v, ast.Dict) else getattr(v, "elts", [v])
                    for i in items:
                        if isinstance(i, ast.Tuple) and i.elts:
                            i = i.elts[0]
                        if isinstance(i, ast.Name):
                            named.add(i.id)
    out = []
    # As Python binds them: in each class body (and the module), a name defined again replaces
    # the earlier definition.
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    defs = []
    for scope in scopes:
        last = {}
        for node in scope.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                last[node.name] = node
        defs.extend(last.values())
    for node in defs:
        if True:
            decorated = any(
                (isinstance(d, ast.Name) and d.id == "task")
                or (isinstance(d, ast.Attribute) and d.attr == "task")
                or (isinstance(d, ast.Call) and getattr(d.func, "id", getattr(d.func, "attr", "")) == "task")
                for d in node.decorator_list
            )
            if decorated or node.name in named:
                out.append((node.name, node.lineno, node.end_lineno))
    return out


def main():
    rb, root = sys.argv[1], Path(sys.argv[2])
    rows = [l.split("\t") for l in (root / "manifest.tsv").read_text().splitlines() if l.strip()]
    total = clean = 0
    files_clean = 0
    print("| file | repository | path | tasks | without a warning | warnings | first warning |")
    print("|---|---|---|---|---|---|---|")
    for f, repo, path, commit in rows:
        text = (root / f).read_text(errors="replace")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            print(f"| {f} | {repo} | {path} | - | - | - | not Python 3 |")
            continue
        tasks = tasks_of(tree)
        p = subprocess.run([rb, "convert", str(root / f)], capture_output=True, text=True, timeout=30)
        err = p.stderr
        converted = {int(m) for m in re.findall(r", line (\d+)$", err, re.M)}
        warned = [int(m) for m in re.findall(r"^warning: [^\n]*?:(\d+): ", err, re.M)]
        failed = p.returncode != 0
        ok = 0
        for _, lo, hi in tasks:
            sent = any(lo <= l <= hi for l in converted)
            quiet = not any(lo <= l <= hi for l in warned)
            ok += int(sent and quiet and not failed)
        total += len(tasks)
        clean += ok
        files_clean += int(not failed and not warned and tasks != [])
        first = err.strip().splitlines()[-1] if failed else next(
            (l.split(": ", 2)[-1] for l in err.splitlines() if l.startswith("warning:")), "")
        first = first.replace("|", "/")[:90]
        print(f"| {f} | {repo} | {path} | {len(tasks)} | {ok} | {len(warned)} | {first} |")
    share = 100.0 * clean / total if total else 0.0
    print(f"\n{clean} of {total} tasks ({share:.0f} %) convert without a warning; "
          f"{files_clean} of {len(rows)} files convert with no warning at all.")


if __name__ == "__main__":
    main()
