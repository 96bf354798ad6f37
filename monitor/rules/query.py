"""The query-string form of a match tree, for operators used to search boxes.

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent operands are ANDed
    unary   := "NOT" unary | near
    near    := primary ("NEAR/" N primary)*   operands: terms or ( OR of terms )
    primary := "(" or ")" | FIELD ":" primary | TERM
    FIELD   := title | text
    TERM    := word | prefix* | "quoted phrase" | re:/regex/ , each with an optional ^weight;
               a word or phrase may start with exact: (only as written) or case: (only in
               the case written)

AND, OR, NOT and NEAR/N are matched in any case. Errors carry the offset of the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.rules.conditions import PREFIXES, ConditionError, parse_condition
from monitor.rules.tree import Field, Group, Near, Node, Term, TermSyntaxError, parse_term

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lparen>\() | (?P<rparen>\)) |
      (?P<near>NEAR/(?P<within>\d+))(?=[\s()]|$) |
      (?P<op>AND|OR|NOT)(?=[\s()]|$) |
      (?P<field>title|text):(?=\S) |
      (?P<regex>re:/(?:[^/\\]|\\.)*/(?:\^\d+(?:\.\d+)?)?) |
      (?P<phrase>(?:(?:exact|case):)*"[^"]*"(?:\^\d+(?:\.\d+)?)?) |
      (?P<quote>") |
      (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    offset: int


_REST_IS_SPACE = re.compile(r"\s*\Z")
MAX_QUERY = 1_000_000  # characters of one query
MAX_NESTING = 32  # parentheses, NOTs and field prefixes inside one another


def tokenize(query: str) -> list[Token]:
    if len(query) > MAX_QUERY:
        raise TermSyntaxError(f"query longer than {MAX_QUERY} characters", offset=MAX_QUERY)
    tokens, position = [], 0
    while position < len(query):
        if _REST_IS_SPACE.match(query, position):
            break
        match = _TOKEN.match(query, position)
        if match is None or match.lastgroup is None:
            raise TermSyntaxError(
                f"cannot read the query at {query[position : position + 10]!r}", offset=position
            )
        kind = match.lastgroup
        if kind == "within":
            kind = "near"
        start = match.start(kind)
        if kind == "quote":
            raise TermSyntaxError("unclosed quote", offset=start)
        tokens.append(Token(kind, match.group(kind), start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, query: str, field: Field) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0
        self.field = field
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def is_op(self, name: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text.upper() == name

    def fail(self, message: str, token: Token | None = None) -> TermSyntaxError:
        offset = token.offset if token else len(self.query)
        return TermSyntaxError(message, offset=offset)

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("empty query")
        node = self.parse_or(self.field)
        token = self.peek()
        if token is not None:
            raise self.fail(f"unexpected {token.text!r}", token)
        return node

    def parse_or(self, field: Field) -> Node:
        children = [self.parse_and(field)]
        while self.is_op("OR"):
            self.index += 1
            children.append(self.parse_and(field))
        return children[0] if len(children) == 1 else Group("any", tuple(children))

    def parse_and(self, field: Field) -> Node:
        children = [self.parse_unary(field)]
        while True:
            token = self.peek()
            if token is None or token.kind == "rparen" or self.is_op("OR"):
                break
            if self.is_op("AND"):
                self.index += 1
            children.append(self.parse_unary(field))
        return children[0] if len(children) == 1 else Group("all", tuple(children))

    def deeper(self, token: Token | None) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"nested more than {MAX_NESTING} deep", token)

    def parse_unary(self, field: Field) -> Node:
        if self.is_op("NOT"):
            self.deeper(self.peek())
            self.index += 1
            node = Group("none", (self.parse_unary(field),))
            self.depth -= 1
            return node
        return self.parse_near(field)

    def parse_near(self, field: Field) -> Node:
        first = self.parse_primary(field)
        operands, within = [first], 0
        while (token := self.peek()) is not None and token.kind == "near":
            self.index += 1
            within = max(within, int(token.text.split("/")[1]))
            operands.append(self.parse_primary(field))
            for operand in (operands[0], operands[-1]):
                if _alternatives(operand) is None:
                    raise self.fail("NEAR joins terms or (a OR b) groups of terms", token)
        if len(operands) == 1:
            return first
        if within < 1:
            raise self.fail("NEAR needs a distance of at least 1 word")
        return Near(tuple(_alternatives(o) or () for o in operands), within)

    def parse_primary(self, field: Field) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("the query ends where a term was expected")
        self.index += 1
        if token.kind == "lparen":
            self.deeper(token)
            node = self.parse_or(field)
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise self.fail("expected ')' to close the '(' here", token)
            self.index += 1
            self.depth -= 1
            return node
        if token.kind == "field":
            self.deeper(token)
            node = self.parse_primary(token.text.lower())  # type: ignore[arg-type]
            self.depth -= 1
            return node
        if token.kind == "word" and token.text.upper().startswith("NEAR/"):
            raise self.fail("NEAR/ takes the number of words between its terms: NEAR/5", token)
        if token.kind == "word" and token.text.lower().startswith(PREFIXES):
            try:
                return parse_condition(token.text)
            except ConditionError as exc:
                raise TermSyntaxError(str(exc), offset=token.offset) from None
        if token.kind in {"word", "phrase", "regex"}:
            try:
                return parse_term(token.text, field)
            except TermSyntaxError as exc:
                raise TermSyntaxError(str(exc), offset=token.offset) from None
        raise self.fail(f"expected a term, found {token.text!r}", token)


def _alternatives(node: Node) -> tuple[Term, ...] | None:
    if isinstance(node, Term):
        return (node,)
    if (
        isinstance(node, Group)
        and node.op == "any"
        and all(isinstance(c, Term) for c in node.children)
    ):
        return tuple(c for c in node.children if isinstance(c, Term))
    return None


def parse_query(query: str, field: Field = "any") -> Node:
    return _Parser(query, field).parse()


def caret(query: str, offset: int) -> str:
    """The query with a caret under ``offset``, for error messages."""
    line_start = query.rfind("\n", 0, offset) + 1
    line_end = query.find("\n", offset)
    line = query[line_start : line_end if line_end != -1 else len(query)]
    return f"    {line}\n    {' ' * (offset - line_start)}^"
