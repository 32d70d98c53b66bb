"""Metric names used by PromQL expressions in deploy/ (alert rules and Grafana dashboards)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.ops.helpers import DEPLOY

RULES = DEPLOY / "prometheus" / "rules" / "erp.rules.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "topk",
    "bottomk",
    "quantile",
    "stddev",
    "stdvar",
    "count_values",
    "rate",
    "irate",
    "increase",
    "delta",
    "histogram_quantile",
    "predict_linear",
    "time",
    "absent",
    "clamp_min",
    "clamp_max",
    "abs",
    "inf",
    "nan",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in ``expr``: identifiers that are not functions, keywords, labels or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals (label values)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    expr = re.sub(r"\$\w+", "", expr)  # Grafana variables
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        name = match.group(0)
        following = expr[match.end() :].lstrip()[:1]
        if name in _KEYWORDS or following == "(":
            continue
        names.add(name)
    return names


def rule_expressions() -> dict[str, str]:
    """Alert name -> expression, from the alert rules."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_expressions() -> dict[str, str]:
    """ "<dashboard uid> / <panel title> #n" -> expression, from every dashboard panel target."""
    found = {}
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for i, target in enumerate(panel.get("targets", [])):
                found[f"{board['uid']} / {panel['title']} #{i}"] = target["expr"]
    return found


def all_metric_names() -> dict[str, set[str]]:
    """Metric name -> where it is used (alert names, dashboard panels)."""
    used: dict[str, set[str]] = {}
    for where, expr in {**rule_expressions(), **dashboard_expressions()}.items():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(where)
    return used


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's interval variables so promtool can parse the expression."""
    return expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")


def write_dashboard_rules(path: Path) -> Path:
    """A recording-rules file holding every dashboard expression, for `promtool check rules`."""
    rules = [
        {"record": f"dashboard:check_{i}", "expr": grafana_to_promql(expr)}
        for i, expr in enumerate(dashboard_expressions().values())
    ]
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    return path
