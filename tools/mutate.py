"""Mutation testing of named modules: does a wrong line make a test fail?

Each mutant changes one thing in one module: a comparison flipped or moved by one
(`<` -> `>=`, `<` -> `<=`), a constant changed, a branch or a statement deleted, a
regex alternative dropped, `and`/`or` swapped or one operand dropped, `not` removed, an
arithmetic operator changed. The module's tests (TARGETS below, or --tests) then run in
a fork of one process that has pytest and the third-party libraries already imported,
on a copy of the tree (so subprocesses the tests start see the mutant too), stopping
at the first failure. A mutant is killed when a test fails or the run times out.

Mutants that change nothing a user could see are kept, with a one-line reason each, in
tools/mutation_equivalent.txt (`module | mutant id | reason`); the score leaves them out:
killed / (tried - equivalent).

    .venv/bin/python tools/mutate.py assistant/chat/privacy.py            # score + survivors
    .venv/bin/python tools/mutate.py assistant/chat/privacy.py --list     # the mutants only
    .venv/bin/python tools/mutate.py MODULE --only 'cmp@redact_text'      # mutants whose id contains this
    .venv/bin/python tools/mutate.py MODULE --tests tests/x.py --json out.json

Too slow for every CI run (seconds per mutant), so CI does not run it.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = ROOT / "tools" / "mutation_equivalent.txt"

# module -> the tests that exercise it (fast ones; the real-model tests cover the rest)
TARGETS: dict[str, list[str]] = {
    "assistant/chat/privacy.py": ["tests/chat/test_privacy.py"],
    "assistant/server/auth.py": ["tests/server/test_auth.py"],
    "assistant/server/common.py": ["tests/server/test_requests.py"],
    "assistant/core/gguf_meta.py": ["tests/core/test_gguf_meta.py"],
    "assistant/engines/thinking.py": ["tests/engines/test_thinking.py", "tests/engines/test_thinking_rules.py"],
    "assistant/chat/cost.py": ["tests/chat/test_cost.py"],
    "assistant/settings.py": ["tests/test_settings.py", "tests/test_settings_schema.py"],
    "assistant/settings_schema.py": ["tests/test_settings_schema.py", "tests/test_settings.py"],
}
# imported once in the parent so that each fork starts warm (never assistant itself)
PREIMPORT = ("pytest", "pytestqt.plugin", "pytest_timeout", "PySide6.QtCore", "PySide6.QtWidgets", "anyio", "jinja2",
             "jinja2.sandbox", "numpy", "gguf", "httpx", "starlette.applications",
             "starlette.testclient", "sse_starlette", "platformdirs", "keyring", "hypothesis", "psutil", "openai",
             "anthropic", "huggingface_hub")

_NEGATE = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
          ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr,
          ast.LShift: ast.RShift, ast.RShift: ast.LShift}
_REGEX_CALLS = {"compile", "match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}


@dataclass
class Mutant:
    id: str          # op@qualname: before -> after (#n when the same text repeats)
    line: int
    start: tuple[int, int]
    end: tuple[int, int]
    replacement: str

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for ln in lines:
            offsets.append(offsets[-1] + len(ln))

        def pos(lc: tuple[int, int]) -> int:  # ast columns are UTF-8 byte offsets
            line = lines[lc[0] - 1]
            return offsets[lc[0] - 1] + len(line.encode("utf-8")[:lc[1]].decode("utf-8"))

        return source[:pos(self.start)] + self.replacement + source[pos(self.end):]


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def _split_alternatives(pattern: str) -> list[tuple[int, int]]:
    """(start, end) of every alternative of every group that has more than one."""
    groups: list[list[int]] = [[-1]]  # per open group: the '|' positions, starting with the group's start
    found: list[tuple[int, int]] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":
                i += 1
        elif ch == "(":
            groups.append([_content_start(pattern, i)])
        elif ch == "|":
            groups[-1].append(i)
        elif ch == ")":
            bars = groups.pop() + [i]
            if len(bars) > 2:
                found += [(bars[k], bars[k + 1]) for k in range(len(bars) - 1)]
        i += 1
    bars = groups.pop() + [len(pattern)]
    if len(bars) > 2:
        found += [(bars[k], bars[k + 1]) for k in range(len(bars) - 1)]
    return found


def _regex_tweaks(pattern: str) -> list[tuple[str, str, str]]:
    """Counted repeats moved by one ({2,4} -> {3,4} and {2,3}) and one item dropped from
    small character classes ([\\s.-] -> [.-]): (before, after, new pattern)."""
    out = []
    for m in re.finditer(r"(?<!\\)\{(\d+)(,?)(\d*)\}", pattern):
        lo, comma, hi = m.group(1), m.group(2), m.group(3)
        tweaks = [f"{{{int(lo) + 1}{comma}{hi}}}"]
        if hi:
            tweaks.append(f"{{{lo},{int(hi) - 1}}}")
        for t in tweaks:
            out.append((f"/{pattern[max(0, m.start() - 12):m.end()]}/", t, pattern[:m.start()] + t + pattern[m.end():]))
    for m in re.finditer(r"(?<!\\)\[(\^?)((?:\\.|[^\]\\])+)\]", pattern):
        items = re.findall(r"\\.|.-.|.", m.group(2))
        if 2 <= len(items) <= 4:
            for k in range(len(items)):
                body = "".join(items[:k] + items[k + 1:])
                new_class = f"[{m.group(1)}{body}]"
                out.append((f"/{m.group(0)}/", new_class, pattern[:m.start()] + new_class + pattern[m.end():]))
    return out


def _content_start(pattern: str, i: int) -> int:
    """The index just before a group's content, for the group opened at i."""
    if pattern[i + 1:i + 2] != "?":
        return i
    if pattern[i + 2:i + 3] in ":=!":
        return i + 2
    if pattern[i + 2:i + 4] in ("<=", "<!"):
        return i + 3
    if pattern[i + 2:i + 3] in "P<":
        return pattern.index(">", i)
    close = min((j for j in (pattern.find(":", i), pattern.find(")", i)) if j >= 0), default=i)
    return close  # (?i:...) or (?i) (no content)


class _Finder(ast.NodeVisitor):
    def __init__(self, source: str) -> None:
        self.source = source
        self.mutants: list[Mutant] = []
        self.scope: list[str] = []
        self.seen: Counter[str] = Counter()
        self.skip: set[int] = set()  # ids of nodes not to mutate (docstrings, f-string parts, regexes)

    # -- helpers -------------------------------------------------------------------------
    def _text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    def _add(self, op: str, node: ast.AST, replacement: str, before: str | None = None, after: str | None = None) -> None:
        where = ".".join(self.scope) or "<module>"
        base = f"{op}@{where}: {_short(before if before is not None else self._text(node))} -> {_short(after if after is not None else replacement)}"
        self.seen[base] += 1
        ident = base if self.seen[base] == 1 else f"{base} #{self.seen[base]}"
        self.mutants.append(Mutant(ident, node.lineno, (node.lineno, node.col_offset),
                                   (node.end_lineno or node.lineno, node.end_col_offset or 0), replacement))

    def _swap(self, op: str, node: ast.expr, new: ast.expr) -> None:
        self._add(op, node, "(" + ast.unparse(new) + ")", after=ast.unparse(new))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.skip.add(id(body[0].value))
        for d in getattr(node, "decorator_list", []):
            self.skip.update(id(n) for n in ast.walk(d))
        if not isinstance(node, ast.ClassDef):
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                self.visit(default)
        self.scope.append(node.name)
        for stmt in body:
            self.visit(stmt)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped  # type: ignore[assignment]

    def visit_Module(self, node: ast.Module) -> None:
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            self.skip.add(id(node.body[0].value))
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # positions inside f-strings are not reliable before 3.12

    def visit_Import(self, node: ast.Import) -> None:
        return

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    # -- operators -------------------------------------------------------------------------
    def visit_Compare(self, node: ast.Compare) -> None:
        for i, op in enumerate(node.ops):
            for table, name in ((_NEGATE, "cmp"), (_BOUNDARY, "cmp-edge")):
                new_op = table.get(type(op))
                if new_op is not None:
                    ops = list(node.ops)
                    ops[i] = new_op()
                    self._swap(name, node, ast.Compare(node.left, ops, node.comparators))
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self._swap("boolop", node, ast.BoolOp(other, node.values))
        if len(node.values) == 2:
            for keep in node.values:
                self._swap("operand", node, keep)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._swap("not", node, node.operand)
        elif isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            self.skip.add(id(node.operand))
            self._swap("const", node, node.operand)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        new_op = _ARITH.get(type(node.op))
        is_format = isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
        if new_op is not None and not is_format:
            self._swap("arith", node, ast.BinOp(node.left, new_op(), node.right))
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._add("delete", node, "pass")
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call):
            self._add("delete", node, "pass")
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        self._block("branch", node.body, f"if {_short(self._text(node.test), 40)}: …")
        if node.orelse and not (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)
                                and self.source.splitlines()[node.orelse[0].lineno - 1].lstrip().startswith("elif")):
            self._block("branch", node.orelse, f"else of if {_short(self._text(node.test), 40)}: …")
        self.generic_visit(node)

    def _block(self, op: str, body: list[ast.stmt], label: str) -> None:
        first, last = body[0], body[-1]
        span = ast.Pass(lineno=first.lineno, col_offset=first.col_offset,
                        end_lineno=last.end_lineno, end_col_offset=last.end_col_offset)
        self._add(op, span, "pass", before=label, after="pass")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        is_re = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re"
        if is_re and name in _REGEX_CALLS and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            pattern = node.args[0].value
            self.skip.add(id(node.args[0]))
            for a, b in _split_alternatives(pattern):
                alt = pattern[a + 1:b]
                # drop the alternative with the bar before it (or after it, for the first)
                new = pattern[:a] + pattern[b:] if a >= 0 and pattern[a:a + 1] == "|" else pattern[:a + 1] + pattern[b + 1:]
                self._add("regex", node.args[0], repr(new), before=f"/{alt}/", after="dropped")
            for before, after, new in _regex_tweaks(pattern):
                self._add("regex", node.args[0], repr(new), before=before, after=after)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if id(node) in self.skip:
            return
        v = node.value
        if isinstance(v, bool):
            self._add("const", node, repr(not v))
        elif isinstance(v, int):
            self._add("const", node, repr(v + 1))
        elif isinstance(v, float):
            self._add("const", node, repr(v * 2 if v else 1.0))
        elif isinstance(v, str) and 0 < len(v) <= 24 and " " not in v and "\n" not in v:
            self._add("const", node, repr("XX" + v))


def find_mutants(source: str) -> list[Mutant]:
    tree = ast.parse(source)
    finder = _Finder(source)
    finder.visit(tree)
    out = []
    for m in finder.mutants:
        try:
            ast.parse(m.apply(source))
        except SyntaxError:
            continue
        out.append(m)
    return out


def load_equivalent(module: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                mod, ident, reason = (p.strip() for p in line.split(" | ", 2))
                if mod == module:
                    out[ident] = reason
    return out


# -- running ---------------------------------------------------------------------------------
def _copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("assistant", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml",):
        shutil.copy2(ROOT / name, dest / name)


def _run_tests(tree: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    """'passed', 'failed' or 'timeout', and the seconds it took; in a fork."""
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: pytest on the copy, quiet
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            rc = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:cov",
                              "--timeout", str(int(timeout) + 5), *tests])
        except BaseException:
            rc = 3
        os._exit(int(rc))
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return ("passed" if code == 0 else "failed"), time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - t0
        time.sleep(0.02)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="+", help="paths such as assistant/chat/privacy.py")
    ap.add_argument("--tests", nargs="*", help="test files to run (default: TARGETS in this script)")
    ap.add_argument("--only", action="append", help="only the mutants whose id contains this text (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and stop")
    ap.add_argument("--sample", type=int, help="only this many mutants per module, drawn at random (--seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write every mutant's outcome here")
    args = ap.parse_args()

    report: dict[str, object] = {}
    summary = []
    for module in args.modules:
        source = (ROOT / module).read_text(encoding="utf-8")
        mutants = [m for m in find_mutants(source) if not args.only or any(o in m.id for o in args.only)]
        if args.sample and len(mutants) > args.sample:
            mutants = sorted(random.Random(args.seed).sample(mutants, args.sample), key=lambda m: m.line)
        equivalent = load_equivalent(module)
        if args.list:
            for m in mutants:
                print(f"{module}:{m.line}: {m.id}" + ("   [equivalent]" if m.id in equivalent else ""))
            continue
        tests = args.tests or TARGETS.get(module)
        if not tests:
            print(f"{module}: no tests named; pass --tests", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
            tree = Path(tmp)
            _copy_tree(tree)
            os.chdir(tree)
            sys.path[:0] = [str(tree), str(tree / "tests")]
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
            os.environ["PYTHONPATH"] = str(tree)
            sys.dont_write_bytecode = True
            for name in PREIMPORT:
                try:
                    __import__(name)
                except ImportError:
                    pass
            base, took = _run_tests(tree, tests, timeout=600)
            if base != "passed":
                print(f"{module}: the tests fail without a mutant ({base}); fix them first", file=sys.stderr)
                return 2
            timeout = took * 3 + 10
            target = tree / module
            results = []
            for n, m in enumerate(mutants, 1):
                if m.id in equivalent:
                    results.append((m, "equivalent"))
                    continue
                target.write_text(m.apply(source), encoding="utf-8")
                outcome, _ = _run_tests(tree, tests, timeout)
                results.append((m, {"passed": "survived", "failed": "killed", "timeout": "killed (timeout)"}[outcome]))
                print(f"[{n}/{len(mutants)}] {results[-1][1]:16} {module}:{m.line} {m.id}", flush=True)
            target.write_text(source, encoding="utf-8")
            os.chdir(ROOT)
            sys.path[:2] = []
        counts = Counter(r.split(" ")[0] for _, r in results)
        scored = len(results) - counts["equivalent"]
        score = counts["killed"] / scored if scored else 1.0
        summary.append(f"{module}: {counts['killed']} killed / {scored} scored ({len(results)} tried, "
                       f"{counts['equivalent']} equivalent): {score:.2f}")
        survivors = [m for m, r in results if r == "survived"]
        if survivors:
            print(f"\nSurvivors in {module}:")
            for m in survivors:
                print(f"  {module}:{m.line}: {m.id}")
        stale = set(equivalent) - {m.id for m in find_mutants(source)}
        if stale:
            print(f"\nIn {EQUIVALENT.name} but no longer made (remove them):", *sorted(stale), sep="\n  ")
        report[module] = {"score": score, "mutants": [{"id": m.id, "line": m.line, "outcome": r} for m, r in results]}
    if summary:
        print("\n" + "\n".join(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
