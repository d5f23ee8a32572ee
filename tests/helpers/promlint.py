#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checks Prometheus text exposition (format 0.0.4) the way promtool's
`check metrics` would, for the stories (no promtool on the test machines):

  promlint.py [--samples] < TEXT

Each metric family has one # HELP and one # TYPE line (counter, gauge,
summary, histogram, untyped), before its samples, and its samples are
together; names and label names are well formed; a label value escapes
backslash, double quote and newline and nothing else; a value is a float,
NaN or +-Inf; no series appears twice; a summary's samples are NAME with a
quantile label, NAME_sum and NAME_count; counters end in _total and nothing
else does. Prints each problem as "line N: why" and exits 1; with
--samples, prints the samples when all is well as one JSON array of
[name, {label: value}, value] (value a float; NaN and Inf as strings).
"""
import json
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "summary", "histogram", "untyped"}
SUFFIXES = {"summary": ("_sum", "_count"), "histogram": ("_sum", "_count", "_bucket")}


def parse_labels(s, i, problems, n):
    """s[i] is just after '{': the labels up to '}' and the index after it."""
    labels = {}
    while True:
        if s.startswith("}", i):
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            problems.append("line %d: bad label name at column %d" % (n, i + 1))
            return None, i
        key = m.group(0)
        if key.startswith("__"):
            problems.append("line %d: label name %s is reserved" % (n, key))
        i = m.end()
        if not s.startswith('="', i):
            problems.append("line %d: label %s without =\"value\"" % (n, key))
            return None, i
        i += 2
        value = []
        while True:
            if i >= len(s):
                problems.append("line %d: label %s's value is not closed" % (n, key))
                return None, i
            c = s[i]
            if c == '"':
                i += 1
                break
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    problems.append("line %d: label %s: bad escape \\%s" % (n, key, nxt))
                    return None, i
                value.append("\n" if nxt == "n" else nxt)
                i += 2
                continue
            value.append(c)
            i += 1
        if key in labels:
            problems.append("line %d: label %s twice" % (n, key))
        labels[key] = "".join(value)
        if s.startswith(",", i):
            i += 1
        elif not s.startswith("}", i):
            problems.append("line %d: expected , or } after label %s" % (n, key))
            return None, i


def help_escapes_ok(s):
    """A docstring escapes backslash and newline only."""
    i = 0
    while i < len(s):
        if s[i] == "\\":
            if s[i + 1:i + 2] not in ("\\", "n"):
                return False
            i += 1
        i += 1
    return True


def parse_value(v):
    if v in ("NaN", "+Inf", "-Inf", "Inf"):
        return v
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v):
        raise ValueError(v)
    return float(v)


def family_of(name, types):
    """The family a sample belongs to: its own name, or a summary's or a
    histogram's for _sum, _count, _bucket."""
    if name in types:
        return name
    for suffix in ("_sum", "_count", "_bucket"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and suffix in SUFFIXES.get(types.get(base), ()):
            return base
    return None


def lint(text):
    problems, samples = [], []
    helps, types, seen_series = {}, {}, set()
    done = set()                # families whose samples are over
    current = None              # the family of the last sample
    if text and not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    problems.append("line %d: bad metric name %r" % (n, name))
                    continue
                if name in done or name == current:
                    problems.append("line %d: %s %s after its samples" % (n, parts[1], name))
                table = helps if parts[1] == "HELP" else types
                if name in table:
                    problems.append("line %d: a second %s for %s" % (n, parts[1], name))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "TYPE":
                    if rest not in TYPES:
                        problems.append("line %d: unknown type %r for %s" % (n, rest, name))
                    if rest == "counter" and not name.endswith("_total"):
                        problems.append("line %d: counter %s does not end in _total" % (n, name))
                    if rest != "counter" and name.endswith("_total"):
                        problems.append("line %d: %s %s ends in _total" % (n, rest, name))
                elif not help_escapes_ok(rest):
                    problems.append("line %d: HELP %s: bad escape" % (n, name))
                elif rest == "":
                    problems.append("line %d: HELP %s is empty" % (n, name))
                table[name] = rest
            continue
        m = NAME.match(line)
        if not m:
            problems.append("line %d: not a sample: %r" % (n, line))
            continue
        name, i = m.group(0), m.end()
        labels = {}
        if line.startswith("{", i):
            labels, i = parse_labels(line, i + 1, problems, n)
            if labels is None:
                continue
        if not line.startswith(" ", i):
            problems.append("line %d: no space before the value" % n)
            continue
        fields = line[i + 1:].split(" ")
        try:
            value = parse_value(fields[0])
            if len(fields) > 2 or (len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1])):
                raise ValueError(line)
        except ValueError:
            problems.append("line %d: bad value in %r" % (n, line))
            continue
        family = family_of(name, types)
        if family is None:
            problems.append("line %d: sample %s has no # TYPE before it" % (n, name))
            continue
        if family not in helps:
            problems.append("line %d: %s has no # HELP before it" % (n, family))
        if family != current:
            if family in done:
                problems.append("line %d: the samples of %s are not together" % (n, family))
            if current:
                done.add(current)
            current = family
        if types[family] == "summary" and name == family and "quantile" not in labels:
            problems.append("line %d: summary %s sample without a quantile" % (n, name))
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            problems.append("line %d: series %s%s twice" % (n, name, labels or ""))
        seen_series.add(series)
        if isinstance(value, float) and math.isnan(value):
            value = "NaN"
        samples.append([name, labels, value])
    for name in set(helps) | set(types):
        if name not in helps or name not in types:
            problems.append("%s has %s only" % (name, "HELP" if name in helps else "TYPE"))
    return problems, samples


def main():
    problems, samples = lint(sys.stdin.read())
    for p in problems:
        print(p)
    if problems:
        return 1
    if "--samples" in sys.argv[1:]:
        print(json.dumps(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
