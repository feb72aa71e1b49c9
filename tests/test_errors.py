"""Errors are classes: code tells one failure from another by its class, never by the words of its message."""
import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
# No exceptions: clinic/bundle.py, which once asked pyrage's message whether a bundle was made for this
# clinic's key, now reads the cleartext line's fingerprint before decrypting.
KNOWN: set[tuple[str, str]] = set()


def _scopes(tree: ast.AST):
    """(exception name, statements) of every `except … as name:` and every function taking an exception."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.name:
            yield node.name, node.body
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in node.args.args + node.args.kwonlyargs:
                if arg.annotation is not None and any(w in ast.unparse(arg.annotation) for w in ("Error", "Exception")):
                    yield arg.arg, node.body


def message_reads(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comparison, or string test, of an exception's message or args: in an `except`
    block, or in a function that is handed an exception."""
    found = set()
    for name, body in _scopes(ast.parse(source)):
        texts: set[str] = set()          # names bound to the message: msg = str(exc); low = msg.lower()

        def is_message(node: ast.AST) -> bool:
            while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):   # str(exc).lower()
                node = node.func.value
            if isinstance(node, ast.Name):
                return node.id in texts
            if isinstance(node, ast.Subscript):                                        # exc.args[0]
                node = node.value
            if isinstance(node, ast.Attribute) and node.attr in ("args", "message", "msg"):
                return isinstance(node.value, ast.Name) and node.value.id == name
            return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("str", "repr")
                    and any(isinstance(n, ast.Name) and n.id == name for a in node.args for n in ast.walk(a)))

        nodes = [n for stmt in body for n in ast.walk(stmt)]
        while True:                       # follow the message through assignments, in any order
            more = {t.id for n in nodes if isinstance(n, ast.Assign) and is_message(n.value)
                    for t in n.targets if isinstance(t, ast.Name)} - texts
            if not more:
                break
            texts |= more
        for node in nodes:
            if isinstance(node, ast.Compare) and any(is_message(x) for x in (node.left, *node.comparators)):
                found.add((node.lineno, ast.unparse(node)))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("startswith", "endswith", "find", "count", "index")
                  and is_message(node.func.value)):
                found.add((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_the_scan_finds_a_message_read():
    source = ("try:\n    pass\nexcept ValueError as exc:\n    if 'locked' in str(exc).lower():\n        pass\n"
              "    msg = str(exc)\n    if msg.startswith('No patient'):\n        pass\n"
              "    if exc.args[0] == 'x':\n        pass\n    raise Other(str(exc))\n"
              "def sql_error(path, exc: sqlite3.Error):\n    low = str(exc or '').lower()\n"
              "    return 'busy' in low\n")
    assert [line for line, _ in message_reads(source)] == [4, 7, 9, 14]    # passing the words on is fine


def test_no_code_reads_an_exceptions_words():
    reads = [f"{path}:{line}: {text}" for path in sorted((ROOT / "coach").rglob("*.py"))
             for line, text in message_reads(path.read_text(encoding="utf-8"))
             if not any(path.relative_to(ROOT).as_posix() == known and words in text for known, words in KNOWN)]
    assert not reads, "errors told apart by their words:\n" + "\n".join(reads)
