#!/usr/bin/env python3
# tests/integration/md2man.py: turn docs/meshctl.1.md into the roff man page docs/meshctl.1.
# Owns: the small Markdown subset the man page source uses: a "% TITLE(1) SOURCE | MANUAL"
# line, "#"/"##" headings, paragraphs, definition lists ("term" then ":   text", more lines
# indented 4), ``` blocks, **bold**, *italic*, and \\ \* escapes. Anything else is text.
# Usage: md2man.py docs/meshctl.1.md > docs/meshctl.1 (06-docs.sh checks it is current).
# SPDX-License-Identifier: MIT
import re
import sys

BS, STAR = "\x01", "\x02"  # placeholders for escaped backslashes and stars


def roff_text(s):
    s = s.replace("\\\\", BS).replace("\\*", STAR)
    s = s.replace("\\", "\\e").replace("-", "\\-")
    s = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", s, flags=re.S)
    s = re.sub(r"\*(.+?)\*", r"\\fI\1\\fR", s, flags=re.S)
    return s.replace(BS, "\\e").replace(STAR, "*")


def line_out(out, s):
    out.append("\\&" + s if s[:1] in (".", "'") else s)


def block_out(out, block):
    """Lines of one paragraph: formatted together, since a span may cross a line."""
    for s in roff_text("\n".join(block)).split("\n"):
        line_out(out, s)


def convert(lines):
    out = []
    m = re.match(r"%\s*(\S+)\((\d)\)\s*(.*?)\s*\|\s*(.*)$", lines[0])
    if not m:
        sys.exit("md2man: the first line must be '% NAME(N) SOURCE | MANUAL'")
    out.append('.TH %s %s "" "%s" "%s"' % m.groups())
    i, n = 1, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("## "):
            out.append('.SS "%s"' % roff_text(line[3:].strip()))
            i += 1
        elif line.startswith("# "):
            out.append(".SH %s" % line[2:].strip())
            i += 1
        elif line.startswith("```"):
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < n and not lines[i].startswith("```"):
                line_out(out, lines[i].replace("\\", "\\e").replace("-", "\\-"))
                i += 1
            out += [".fi", ".RE"]
            i += 1
        elif i + 1 < n and lines[i + 1].startswith(":   "):
            out.append(".TP")
            line_out(out, roff_text(line))
            block = [lines[i + 1][4:]]
            i += 2
            while i < n and lines[i].startswith("    "):
                block.append(lines[i][4:])
                i += 1
            block_out(out, block)
        else:
            out.append(".PP")
            block = []
            while i < n and lines[i].strip() and not lines[i].startswith(("#", "```")):
                block.append(lines[i])
                i += 1
            block_out(out, block)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: md2man.py FILE.md")
    with open(sys.argv[1], encoding="utf-8") as f:
        src = f.read().split("\n")
    print("\n".join(convert(src)))
