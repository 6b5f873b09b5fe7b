"""Explains the statements in Folio's slow-query log (JSON lines on stdin), for benches/plans.sh.

    python3 benches/explain.py BACKEND DATABASE_URL TITLE < server-log-lines

Each logged statement is `SQL -- binds: [values]` (diesel's debug form); the values are put
back in place of the placeholders and the statement is explained by the database itself.
"""

import json
import re
import subprocess
import sys

backend, url, title = sys.argv[1], sys.argv[2], sys.argv[3]


def parse_binds(text):
    """diesel's Debug list of bound values -> Python values (str, int, float, None, list)."""
    position = 0

    def value():
        nonlocal position
        while text[position] == " ":
            position += 1
        if text[position] == '"':
            end, out = position + 1, []
            while text[end] != '"':
                if text[end] == "\\":
                    end += 1
                out.append(text[end])
                end += 1
            position = end + 1
            return "".join(out)
        if text[position] == "[":
            position += 1
            items = []
            while text[position] != "]":
                items.append(value())
                while text[position] in ", ":
                    position += 1
            position += 1
            return items
        if text.startswith("Some(", position):
            position += 5
            inner = value()
            position += 1  # ")"
            return inner
        match = re.compile(r"[^,\]\)]+").match(text, position)
        token = match.group(0).strip()
        position = match.end()
        if token == "None":
            return None
        if token in ("true", "false"):
            return token == "true"
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if re.fullmatch(r"-?\d+\.\d+", token):
            return float(token)
        return token.replace("T", " ")  # a timestamp, as stored

    return value()


def literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        if backend != "postgres":
            return "'" + json.dumps(value).replace("'", "''") + "'"
        # An empty array has no type PostgreSQL can infer; Folio's id lists are bigint.
        return "ARRAY[" + ", ".join(literal(v) for v in value) + "]" if value else "ARRAY[]::bigint[]"
    return "'" + str(value).replace("'", "''") + "'"


def bound(sql, binds):
    if backend == "postgres":
        for number in range(len(binds), 0, -1):
            sql = sql.replace(f"${number}", literal(binds[number - 1]))
        return sql
    parts = sql.split("?")
    return "".join(part + (literal(binds[i]) if i < len(binds) else "") for i, part in enumerate(parts))


print(f"\n### {title}")
for line in sys.stdin:
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    fields = entry.get("fields", entry)
    logged = fields.get("sql")
    if not logged or entry.get("target") != "folio::db::slow_queries":
        continue
    sql, _, binds = logged.partition(" -- binds: ")
    # The background jobs' own statements (the timed count of scheduled articles) are not
    # the request's.
    plain = sql.replace("`", '"')
    if not plain.lstrip().upper().startswith("SELECT") or plain.startswith('SELECT "count_watermark"') \
            or '"articles"."author_id", "articles"."published_at" FROM' in plain \
            or "WHERE (1=0)" in plain or "pg_try_advisory" in plain or plain.strip() == "SELECT 1":
        continue
    statement = bound(sql, parse_binds(binds) if binds else [])
    print(f"\n-- {float(fields.get('ms', 0)):.2f} ms in Folio\n{statement}")
    if backend == "postgres":
        command = ["psql", "-X", "-At", url, "-c", f"EXPLAIN (ANALYZE, BUFFERS) {statement}"]
    else:
        command = ["sqlite3", url.removeprefix("sqlite://"), f"EXPLAIN QUERY PLAN {statement}"]
    done = subprocess.run(command, capture_output=True, text=True)
    print(done.stdout.rstrip() or done.stderr.rstrip())
