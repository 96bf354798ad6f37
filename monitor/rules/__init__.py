"""Rules: load YAML files, compile them into one matcher, match documents.

The seam for the rest of the service is ``compile_rules(rules) -> Matcher`` and
``Matcher.match(document) -> list[Hit]``.
"""

from monitor.rules.load import RuleSet, load_rule, load_rules
from monitor.rules.match import Matcher, compile_rules
from monitor.rules.tree import Rule

__all__ = ["Matcher", "Rule", "RuleSet", "compile_rules", "load_rule", "load_rules"]
