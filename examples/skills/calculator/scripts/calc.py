#!/usr/bin/env python3
"""Safe arithmetic evaluator: a tokenizer and a recursive-descent parser.

Reads {"expression": "..."} as JSON on stdin (or the expression as the first argument) and
prints {"result": <number>} on stdout. Errors print {"error": "...", "position": N} on stdout,
the message on stderr, and exit with status 1.

Nothing in the expression is handed to Python's eval/exec/ast: the grammar below is the only
thing that is understood, and every operation that could grow without bound (powers, big
integer products, nesting) is capped before it is computed.

Grammar (lowest precedence first):
    expression := additive EOF
    additive   := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "//" | "%") unary)*
    unary      := ("-" | "+") unary | power
    power      := primary ("**" unary)?          # right-associative; -2**2 == -4
    primary    := NUMBER | NAME | NAME "(" [additive ("," additive)*] ")" | "(" additive ")"
"""

import json
import math
import sys

MAX_EXPRESSION_CHARS = 1000
MAX_DEPTH = 64
# Integers are capped at this many bits (about 1200 decimal digits) so that no single
# operation can take noticeable time or memory.
MAX_INT_BITS = 4000
MAX_EXPONENT = 10000


class CalcError(Exception):
    """A user-facing evaluation error, with the character offset it refers to."""

    def __init__(self, message, position=None):
        super().__init__(message)
        self.message = message
        self.position = position


# --- Tokenizer ------------------------------------------------------------------------------

NUMBER, NAME, OP, LPAREN, RPAREN, COMMA, END = "number", "name", "op", "(", ")", ",", "end"
_OPERATORS = ("**", "//", "+", "-", "*", "/", "%")


class Token:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind, text, pos, value=None):
        self.kind, self.text, self.pos, self.value = kind, text, pos, value

    def __repr__(self):
        return f"Token({self.kind!r}, {self.text!r}, {self.pos})"


def tokenize(source):
    """Splits `source` into tokens; raises CalcError on a character that is not understood."""
    tokens = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
        elif c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            start = i
            while i < n and source[i].isdigit():
                i += 1
            is_float = False
            if i < n and source[i] == ".":
                is_float = True
                i += 1
                while i < n and source[i].isdigit():
                    i += 1
            if i < n and source[i] in "eE":
                j = i + 1
                if j < n and source[j] in "+-":
                    j += 1
                if j < n and source[j].isdigit():
                    is_float = True
                    i = j
                    while i < n and source[i].isdigit():
                        i += 1
            text = source[start:i]
            value = float(text) if is_float else int(text)
            if isinstance(value, float) and not math.isfinite(value):
                raise CalcError(f"number {text!r} is out of range", start)
            tokens.append(Token(NUMBER, text, start, value))
        elif c.isalpha() or c == "_":
            start = i
            while i < n and (source[i].isalnum() or source[i] == "_"):
                i += 1
            tokens.append(Token(NAME, source[start:i], start))
        elif c == "(":
            tokens.append(Token(LPAREN, c, i))
            i += 1
        elif c == ")":
            tokens.append(Token(RPAREN, c, i))
            i += 1
        elif c == ",":
            tokens.append(Token(COMMA, c, i))
            i += 1
        else:
            for op in _OPERATORS:
                if source.startswith(op, i):
                    tokens.append(Token(OP, op, i))
                    i += len(op)
                    break
            else:
                raise CalcError(f"unexpected character {c!r}", i)
    tokens.append(Token(END, "", n))
    return tokens


# --- Arithmetic with limits ------------------------------------------------------------------

def _check(value, pos):
    """Rejects results that are too large or not finite."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise CalcError(f"result exceeds {MAX_INT_BITS} bits", pos)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise CalcError("result is not a finite number", pos)
    return value


def _divide(a, b, pos):
    if b == 0:
        raise CalcError("division by zero", pos)
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def _floor_divide(a, b, pos):
    if b == 0:
        raise CalcError("division by zero", pos)
    return a // b


def _modulo(a, b, pos):
    if b == 0:
        raise CalcError("modulo by zero", pos)
    return a % b


def _power(base, exponent, pos):
    if isinstance(exponent, int) and isinstance(base, int):
        if exponent < 0:
            if base == 0:
                raise CalcError("zero cannot be raised to a negative power", pos)
            if abs(exponent) > MAX_EXPONENT:
                raise CalcError(f"exponent exceeds {MAX_EXPONENT}", pos)
            return _check(float(base) ** exponent, pos)
        if abs(base) > 1:
            if exponent > MAX_EXPONENT:
                raise CalcError(f"exponent exceeds {MAX_EXPONENT}", pos)
            # Estimate the size before computing: |base|**exp has about bits*exp bits.
            if (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS:
                raise CalcError(f"result exceeds {MAX_INT_BITS} bits", pos)
        return _check(base ** exponent, pos)
    if base == 0 and exponent < 0:
        raise CalcError("zero cannot be raised to a negative power", pos)
    if base < 0 and not float(exponent).is_integer():
        raise CalcError("negative number raised to a fractional power", pos)
    try:
        return _check(float(base) ** float(exponent), pos)
    except OverflowError:
        raise CalcError("result is too large", pos) from None


_BINARY = {
    "+": lambda a, b, pos: a + b,
    "-": lambda a, b, pos: a - b,
    "*": lambda a, b, pos: a * b,
    "/": _divide,
    "//": _floor_divide,
    "%": _modulo,
    "**": _power,
}


def _sqrt(pos, x):
    if x < 0:
        raise CalcError("sqrt of a negative number", pos)
    if isinstance(x, int):
        root = math.isqrt(x)
        if root * root == x:
            return root
    return math.sqrt(x)


def _round(pos, x, digits=0):
    if not isinstance(digits, int):
        raise CalcError("round: digits must be an integer", pos)
    if abs(digits) > 100:
        raise CalcError("round: digits must be between -100 and 100", pos)
    if digits == 0:
        return int(round(x))
    return round(x, digits)


def _log(pos, x, base=None):
    if x <= 0 or (base is not None and (base <= 0 or base == 1)):
        raise CalcError("log: argument out of domain", pos)
    return math.log(x) if base is None else math.log(x, base)


def _min(pos, *args):
    if not args:
        raise CalcError("min needs at least one argument", pos)
    return min(args)


def _max(pos, *args):
    if not args:
        raise CalcError("max needs at least one argument", pos)
    return max(args)


def _integral(fn):
    def apply(pos, x):
        if isinstance(x, int):
            return x
        return int(fn(x))
    return apply


# name -> (callable(pos, *args), min args, max args)
FUNCTIONS = {
    "sqrt": (_sqrt, 1, 1),
    "abs": (lambda pos, x: abs(x), 1, 1),
    "min": (_min, 1, 64),
    "max": (_max, 1, 64),
    "round": (_round, 1, 2),
    "floor": (_integral(math.floor), 1, 1),
    "ceil": (_integral(math.ceil), 1, 1),
    "log": (_log, 1, 2),
}

CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


# --- Parser ------------------------------------------------------------------------------------

class Parser:
    """Recursive-descent evaluator over the token list; evaluates while parsing."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self):
        return self.tokens[self.index]

    def advance(self):
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind, what):
        token = self.peek()
        if token.kind != kind:
            found = "end of input" if token.kind == END else repr(token.text)
            raise CalcError(f"expected {what}, found {found}", token.pos)
        return self.advance()

    def enter(self, pos):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalcError(f"expression nests deeper than {MAX_DEPTH}", pos)

    def parse(self):
        value = self.additive()
        token = self.peek()
        if token.kind != END:
            raise CalcError(f"unexpected {token.text!r}", token.pos)
        return value

    def additive(self):
        value = self.term()
        while self.peek().kind == OP and self.peek().text in ("+", "-"):
            op = self.advance()
            rhs = self.term()
            value = _check(_BINARY[op.text](value, rhs, op.pos), op.pos)
        return value

    def term(self):
        value = self.unary()
        while self.peek().kind == OP and self.peek().text in ("*", "/", "//", "%"):
            op = self.advance()
            rhs = self.unary()
            value = _check(_BINARY[op.text](value, rhs, op.pos), op.pos)
        return value

    def unary(self):
        token = self.peek()
        if token.kind == OP and token.text in ("-", "+"):
            self.advance()
            self.enter(token.pos)
            operand = self.unary()
            self.depth -= 1
            return -operand if token.text == "-" else operand
        return self.power()

    def power(self):
        base = self.primary()
        if self.peek().kind == OP and self.peek().text == "**":
            op = self.advance()
            self.enter(op.pos)
            # The right operand is a unary, which recurses into power: 2**3**2 == 2**(3**2).
            exponent = self.unary()
            self.depth -= 1
            return _power(base, exponent, op.pos)
        return base

    def primary(self):
        token = self.advance()
        if token.kind == NUMBER:
            return token.value
        if token.kind == LPAREN:
            self.enter(token.pos)
            value = self.additive()
            self.expect(RPAREN, "')'")
            self.depth -= 1
            return value
        if token.kind == NAME:
            if self.peek().kind == LPAREN:
                return self.call(token)
            if token.text in CONSTANTS:
                return CONSTANTS[token.text]
            if token.text in FUNCTIONS:
                raise CalcError(f"function {token.text!r} needs arguments in parentheses",
                                token.pos)
            raise CalcError(f"unknown name {token.text!r}", token.pos)
        if token.kind == END:
            raise CalcError("unexpected end of expression", token.pos)
        raise CalcError(f"unexpected {token.text!r}", token.pos)

    def call(self, name):
        if name.text not in FUNCTIONS:
            raise CalcError(f"unknown function {name.text!r}", name.pos)
        fn, min_args, max_args = FUNCTIONS[name.text]
        open_paren = self.expect(LPAREN, "'('")
        self.enter(open_paren.pos)
        args = []
        if self.peek().kind != RPAREN:
            args.append(self.additive())
            while self.peek().kind == COMMA:
                self.advance()
                args.append(self.additive())
        self.expect(RPAREN, "')' or ','")
        self.depth -= 1
        if not min_args <= len(args) <= max_args:
            expected = str(min_args) if min_args == max_args else f"{min_args} to {max_args}"
            raise CalcError(f"{name.text}() takes {expected} argument(s), got {len(args)}",
                            name.pos)
        try:
            return _check(fn(name.pos, *args), name.pos)
        except (OverflowError, ValueError) as exc:
            raise CalcError(f"{name.text}(): {exc}", name.pos) from None


def evaluate(expression):
    """Evaluates `expression` and returns an int or a float; raises CalcError."""
    if not isinstance(expression, str):
        raise CalcError("expression must be a string")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CalcError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    if not expression.strip():
        raise CalcError("expression is empty", 0)
    return Parser(tokenize(expression)).parse()


def _fail(message, position=None):
    error = {"error": message}
    if position is not None:
        error["position"] = position
    print(json.dumps(error))
    print(f"calculator: {message}" + (f" (at offset {position})" if position is not None
                                        else ""), file=sys.stderr)
    return 1


def main(argv):
    if len(argv) > 1:
        expression = " ".join(argv[1:])
    else:
        try:
            request = json.load(sys.stdin)
        except json.JSONDecodeError as exc:
            return _fail(f"input is not valid JSON: {exc}")
        if not isinstance(request, dict) or "expression" not in request:
            return _fail('input must be an object with a string "expression"')
        expression = request["expression"]
    try:
        result = evaluate(expression)
    except CalcError as exc:
        return _fail(exc.message, exc.position)
    print(json.dumps({"result": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
