"""`explain` for people: one block per loss, the value under each convention side by side,
then for each convention that differs the rules behind it (SPEC §9). Reads only the JSON
document (`losscli.explaining.Explanation.to_dict`), so the numbers cannot drift from it."""

from __future__ import annotations

from typing import Any

from losscli.engine.conventions import RULE_TEXT
from losscli.render import format_number


def _signed(value: float | None, precision: int) -> str:
    if value is None:
        return "nan"
    text = format_number(value, precision)
    return text if text.startswith("-") else "+" + text


def dumps(doc: dict[str, Any], precision: int = 6) -> str:
    """Plain text, one block per loss, blank lines between them."""
    blocks = []
    for item in doc["explain"]:
        diffs = {d["convention"]: d for d in item["differences"]}
        rows = [("convention", "value", "difference")]
        for conv, value in item["values"].items():
            if value is None and conv in item["unavailable"]:
                rows.append((conv, "—", "not available"))
                continue
            diff = diffs.get(conv)
            shown = (
                ""
                if conv == "losscli"
                else "0"
                if diff is None
                else _signed(diff["difference"], precision)
            )
            rows.append((conv, format_number(value, precision), shown))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [item["loss"]]
        lines += [
            "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in rows
        ]  # fmt: skip
        for conv, diff in diffs.items():
            for rule in diff["rules"]:
                n = rule["rows"]
                lines.append(
                    f"  {conv} {RULE_TEXT[rule['rule']]}: {n} row{'s' * (n != 1)}, "
                    f"{_signed(rule['effect'], precision)}"
                )
            if diff["unexplained"]:
                lines.append(f"  {conv}: unexplained {_signed(diff['unexplained'], precision)}")
        for conv, reason in item["unavailable"].items():
            lines.append(f"  {conv}: {reason}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
