"""The step summaries of an act run, rendered for a terminal: tests/demo ends with them.

act prints each step's summary as `[workflow/job]   ⚙  Summary - <markdown>` followed by the
markdown's other lines (a composite action's twice). This reads act's output on stdin, keeps
each summary once, in order, and renders its markdown readably: headings underlined, tables
aligned in columns, code ticks dropped.

    ... | python -m bed.tools.summaries
"""

import re
import sys

MARK = "⚙  Summary - "
JOB_LINE = re.compile(r"^\[[^\]]+/([^\]]+)\]")


def summaries(lines):
    """[(job, markdown)] in order, each once."""
    found, current, job = [], None, ""
    for line in lines:
        line = line.rstrip("\n")
        started = JOB_LINE.match(line)
        if started:
            if current is not None:
                found.append((job, "\n".join(current).strip()))
                current = None
            if MARK in line:
                job = started.group(1)
                current = [line.split(MARK, 1)[1]]
        elif current is not None:
            current.append(line)
    if current is not None:
        found.append((job, "\n".join(current).strip()))
    seen, unique = set(), []
    for job, markdown in found:
        if (job, markdown) not in seen:
            seen.add((job, markdown))
            unique.append((job, markdown))
    return unique


def plain(text):
    text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1: \2", text)
    return text.replace("`", "").replace("<br>", ", ").replace("**", "")


def cells(row):
    return [plain(c.strip()) for c in row.strip().strip("|").split("|")]


def table(rows):
    separator = re.compile(r"\|?[\s:|-]*-[\s:|-]*\|?")
    body = [cells(r) for r in rows if not separator.fullmatch(r.strip())]
    header = bool(body) and any(body[0])
    body = [r for r in body if any(r)]
    if not body:
        return []
    width = max(len(r) for r in body)
    body = [r + [""] * (width - len(r)) for r in body]
    sizes = [max(len(r[i]) for r in body) for i in range(width)]
    out = []
    for index, row in enumerate(body):
        out.append("  " + "  ".join(c.ljust(sizes[i]) for i, c in enumerate(row)).rstrip())
        if index == 0 and header:
            out.append("  " + "  ".join("-" * s for s in sizes))
    return out


def render(markdown):
    out, rows, fence = [], [], None
    for line in markdown.splitlines() + [""]:
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
            continue
        if fence == "mermaid":
            continue  # a chart: the table before it says the same
        if line.startswith("|"):
            rows.append(line)
            continue
        if rows:
            out += table(rows)
            rows = []
        heading = re.match(r"^#+\s+(.*)", line)
        if heading:
            text = plain(heading.group(1))
            out += [text, "─" * len(text)]
        else:
            out.append(plain(line))
    return "\n".join(out).strip()


def main():
    for job, markdown in summaries(sys.stdin):
        print(f"\n[{job}]\n{render(markdown)}")


if __name__ == "__main__":
    main()
