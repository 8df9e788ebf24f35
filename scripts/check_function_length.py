#!/usr/bin/env python3
"""Fails when a production function (not a main) is longer than the limit.

Usage: scripts/check_function_length.py [--max N] ROOT

A small C++ lexer (comments, strings, raw strings and character literals removed) and a
brace tracker: a block opened at namespace or class scope whose head ends in a
parameter list (plus qualifiers, a trailing return type or an initializer list) is a
function; its length runs from the line of that head to its closing brace.
clang-tidy's readability-function-size would do this, but Debian's clang 14 cannot
parse the C++23 library headers the code uses (std::expected).
"""
import pathlib
import re
import sys

FOLDERS = ["common", "broker", "gateway", "gpu_worker", "cli"]
SUFFIXES = {".cpp", ".h", ".cu"}


def strip(text: str) -> str:
    """Blanks comments and literals, keeping newlines so line numbers stay right."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == "R" and i + 1 < n and text[i + 1] == '"' and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == "'" and 0 < i < n - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            out.append(c)  # a digit separator: 30'000
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


FUNCTION_HEAD = re.compile(
    r"\)\s*(const|override|final|noexcept|mutable|&|&&|\s)*"
    r"(->\s*[\w:<>,\s*&]+)?\s*(:\s*[\s\S]*)?$")


def functions(code: str):
    """Yields (first line, last line) of each function defined at namespace/class scope."""
    stack = []  # (kind, line)
    head_start = 0
    line = 1
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        if c in ";{}":
            head = code[head_start:i]
            if c == "{":
                scope_ok = all(kind in ("namespace", "class") for kind, _ in stack)
                if re.search(r"\bnamespace\b", head):
                    kind = "namespace"
                elif scope_ok and re.search(r"\b(class|struct|union)\b", head) and "(" not in head:
                    kind = "class"
                elif scope_ok and "(" in head and FUNCTION_HEAD.search(head.strip()) \
                        and "=" not in head.split("(")[0]:
                    kind = "function"
                else:
                    kind = "block"
                first = line - head.lstrip("\n").count("\n") if kind == "function" else line
                # The head's first line: skip the blank lines the strip left before it.
                stack.append((kind, first))
            elif c == "}" and stack:
                kind, first = stack.pop()
                if kind == "function":
                    yield first, line
            head_start = i + 1


def main() -> int:
    args = sys.argv[1:]
    limit = 80
    if args[:1] == ["--max"]:
        limit = int(args[1])
        args = args[2:]
    root = pathlib.Path(args[0] if args else ".")
    long_ones = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in SUFFIXES or path.name == "main.cpp":
                continue
            code = strip(path.read_text())
            for first, last in functions(code):
                if last - first + 1 > limit:
                    long_ones.append(f"{path.relative_to(root)}:{first}: {last - first + 1} lines")
    for entry in long_ones:
        print(entry)
    if long_ones:
        print(f"{len(long_ones)} functions over {limit} lines (main() excepted)")
        return 1
    print(f"no function over {limit} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
