#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes mdredir.ini(5)'s scdoc source from its template and the sample.

tools/mdredir.ini.sample documents every option once, for operators who
read the file; the manual says the same from it, so the two cannot drift.
The template's lines @SAMPLE_HEADER@ and @SAMPLE_OPTIONS@ are replaced
with the sample's opening comment and with its sections, each option
(commented out at its default) and the comment above it.

Usage: ini-man.py TEMPLATE SAMPLE > OUT.scd
"""
import re
import sys

OPTION = re.compile(r"^#([a-z][a-z0-9_]*) ?[=:] ?(.*)$")
SECTION = re.compile(r"^\[([a-z_A-Z]+)\]$")


def text(s):
    """Plain prose in scdoc: its markup characters escaped, `x` bold."""
    s = s.replace("\\", "\\\\").replace("*", "\\*")
    # _ underlines only at a word's start: escape those alone.
    s = re.sub(r"(^|[^A-Za-z0-9])_", r"\1\\_", s)
    return re.sub(r"`([^`]+)`", r"*\1*", s)


def comment(line):
    return line[1:].lstrip(" ") if line.startswith("#") else line


def blocks(lines):
    """Runs of non-blank lines."""
    block = []
    for line in lines + [""]:
        if line.strip():
            block.append(line.rstrip("\n"))
        elif block:
            yield block
            block = []


def header(lines):
    """The comment before the first section, minus its SPDX line."""
    out, para = [], []
    for line in lines:
        if SECTION.match(line):
            break
        words = comment(line).strip()
        if words and "SPDX-License" not in words:
            para.append(words)
        elif para:  # a blank line, or a lone "#", ends a paragraph
            out.append(text(" ".join(para)))
            para = []
    return "\n\n".join(out)


def options(lines):
    out, in_sections = [], False
    for block in blocks(lines):
        m = SECTION.match(block[0])
        if m:
            in_sections = True
            out.append(f"## [{m.group(1)}]")
            block = block[1:]
        if not in_sections or not block:
            continue
        opts = [OPTION.match(l) for l in block if OPTION.match(l)]
        prose = [comment(l) for l in block if not OPTION.match(l)]
        prose = text(" ".join(w for w in prose if w))
        if not opts:
            out.append(prose)
            continue
        terms = [f"*{o.group(1)}* = {text(o.group(2)) or '(empty)'}"
                 for o in opts]
        out.append("++\n".join(terms) + ("\n\t" + prose if prose else ""))
    return "\n\n".join(out)


def main():
    template, sample = sys.argv[1], sys.argv[2]
    lines = open(sample).read().splitlines()
    parts = {"@SAMPLE_HEADER@": header(lines),
             "@SAMPLE_OPTIONS@": options(lines)}
    for line in open(template).read().splitlines():
        sys.stdout.write(parts.get(line.strip(), line) + "\n")


if __name__ == "__main__":
    main()
