#!/usr/bin/env python3
"""A strict reader of the Prometheus text exposition format 0.0.4, for the tests.

usage: promtext.py check FILE           exit 1 with the errors when FILE is not valid
       promtext.py value FILE SERIES    print the value of SERIES (name{labels} as
                                        rendered, labels in order), exit 1 if absent
       promtext.py sum FILE NAME        print the sum of NAME's samples (every label
                                        set), exit 1 if there is none
       promtext.py get URL OUT          GET URL, body to OUT, print the status code
       promtext.py head URL [HEADER]... HEAD URL (with the request header lines given)
                                        on a raw socket read to its end: print the
                                        status, the bytes after the headers and the
                                        Content-Length header ("-" when absent)

Checked: comment lines are # HELP / # TYPE with a valid name (one each per family,
TYPE before its samples); sample names and label names are valid; label values
are quoted and use only the escapes \\\\, \\" and \\n; values parse as floats;
no series appears twice; a family's samples are together; counters are not
negative; every histogram has cumulative buckets ending with le="+Inf", whose
count equals _count, and a _sum.
"""
import re
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^({NAME})(\{{(?:{LABEL}={VALUE}(?:,{LABEL}={VALUE})*,?)?\}})? (\S+)( -?[0-9]+)?$"
)
PAIR = re.compile(rf"({LABEL})=({VALUE})")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def family_of(name, types):
    """The family a sample belongs to (histogram suffixes stripped)."""
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    return float(text)


def parse(text):
    """Returns (samples as {series: value}, histograms {family: [(labels, le, v)]}, errors)."""
    errors, samples, types, helps = [], {}, {}, set()
    seen_families, current, hist = set(), None, {}
    if text and not text.endswith("\n"):
        errors.append("the text does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = re.match(rf"^# (HELP|TYPE) ({NAME}) (.*)$", line)
            if not m:
                if re.match(r"^# (HELP|TYPE)\b", line):
                    errors.append(f"line {n}: malformed {line!r}")
                continue
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if name in types:
                    errors.append(f"line {n}: second TYPE for {name}")
                if rest not in TYPES:
                    errors.append(f"line {n}: unknown type {rest!r}")
                if name in seen_families:
                    errors.append(f"line {n}: TYPE for {name} after its samples")
                types[name] = rest
            else:
                if name in helps:
                    errors.append(f"line {n}: second HELP for {name}")
                helps.add(name)
            continue
        if line.strip() == "":
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append(f"line {n}: not a sample: {line!r}")
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        try:
            v = parse_value(value)
        except ValueError:
            errors.append(f"line {n}: bad value {value!r}")
            continue
        series = name + labels
        if series in samples:
            errors.append(f"line {n}: series {series} twice")
        samples[series] = v
        fam = family_of(name, types)
        if fam != current and fam in seen_families:
            errors.append(f"line {n}: samples of {fam} are not together")
        current = fam
        seen_families.add(fam)
        if types.get(fam) == "counter" and v < 0:
            errors.append(f"line {n}: negative counter {series}")
        if types.get(fam) == "histogram":
            pairs = PAIR.findall(labels)
            hist.setdefault(fam, []).append((name, pairs, v))
    for fam, rows in hist.items():
        errors.extend(check_histogram(fam, rows))
    return samples, errors


def check_histogram(fam, rows):
    errors, last = [], -1.0
    buckets = [(dict(p)["le"], v) for name, p, v in rows if name == fam + "_bucket"]
    counts = [v for name, p, v in rows if name == fam + "_count"]
    sums = [v for name, p, v in rows if name == fam + "_sum"]
    bounds = []
    for le, v in buckets:
        bounds.append(parse_value(le.strip('"')))
        if v < last:
            errors.append(f"{fam}: bucket le={le} is not cumulative")
        last = v
    if bounds != sorted(bounds):
        errors.append(f"{fam}: buckets are not in increasing order")
    if not buckets or buckets[-1][0] != '"+Inf"':
        errors.append(f"{fam}: no le=\"+Inf\" bucket last")
    if len(counts) != 1 or len(sums) != 1:
        errors.append(f"{fam}: needs one _count and one _sum")
    elif buckets and counts[0] != buckets[-1][1]:
        errors.append(f"{fam}: _count {counts[0]} differs from the +Inf bucket")
    return errors


def fetch(url, method):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def head(url, extra=()):
    """HEAD with Connection: close; everything the server sends, to its end (a
    client library would stop after the headers and never see a stray body)."""
    u = urllib.parse.urlsplit(url)
    data = b""
    more = "".join(f"{h}\r\n" for h in extra)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(f"HEAD {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n{more}"
                  "Connection: close\r\n\r\n".encode())
        while len(data) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    headers, _, rest = data.partition(b"\r\n\r\n")
    lines = headers.decode("latin-1").split("\r\n")
    length = "-"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = value.strip()
    return lines[0].split(" ")[1], len(rest), length


def main(argv):
    if len(argv) == 3 and argv[1] == "check":
        with open(argv[2], encoding="utf-8") as f:
            _, errors = parse(f.read())
        for e in errors:
            print(e)
        return 1 if errors else 0
    if len(argv) == 4 and argv[1] == "value":
        with open(argv[2], encoding="utf-8") as f:
            samples, _ = parse(f.read())
        if argv[3] not in samples:
            return 1
        v = samples[argv[3]]
        print(int(v) if v == int(v) else v)
        return 0
    if len(argv) == 4 and argv[1] == "get":
        status, body = fetch(argv[2], "GET")
        with open(argv[3], "wb") as f:
            f.write(body)
        print(status)
        return 0
    if len(argv) == 4 and argv[1] == "sum":
        with open(argv[2], encoding="utf-8") as f:
            samples, _ = parse(f.read())
        values = [v for k, v in samples.items() if k.split("{")[0] == argv[3]]
        if not values:
            return 1
        total = sum(values)
        print(int(total) if total == int(total) else total)
        return 0
    if len(argv) >= 3 and argv[1] == "head":
        print(*head(argv[2], argv[3:]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
