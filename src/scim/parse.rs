//! Recursive-descent parser for SCIM filters (grammar in the module docs), over the tokens of
//! [`super::lex`].
//!
//! Errors carry byte offsets until [`parse()`] turns the offset into characters, once, at the
//! end. Recursion is bounded by [`MAX_DEPTH`]: `and`/`or` chains are collected into one n-ary
//! node rather than nested, so only parentheses and `not` deepen the tree.

use super::lex::{Error, Tok, Token, lex, quote};
use super::{CompareOp, Expr, Filter, FilterError, Literal, MAX_DEPTH};

/// Parse a SCIM filter. Never panics; an error says where (in characters) and what.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let at_char = |byte: usize| input.get(..byte).map_or(byte, |s| s.chars().count());
    let result = lex(input).and_then(|tokens| {
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: input.len(),
            depth: 0,
        };
        parser.filter()
    });
    result
        .map(|expr| Filter { expr })
        .map_err(|(byte, message)| FilterError {
            offset: at_char(byte),
            message,
        })
}

/// The attribute operator `word` names, in any case: `Some(None)` for `pr`, `None` if it is
/// none.
fn operator(word: &str) -> Option<Option<CompareOp>> {
    if word.len() != 2 {
        return None;
    }
    let op = match word.to_ascii_lowercase().as_str() {
        "pr" => return Some(None),
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(Some(op))
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

/// `name *("." name)`, name = `(ALPHA / "_" / "$") *(ALPHA / DIGIT / "_" / "-" / "$")`.
fn valid_path(word: &str) -> bool {
    word.split('.').all(|name| {
        let mut bytes = name.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$')
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$'))
    })
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    /// Byte length of the input: the offset reported for "missing at the end".
    end: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if is_keyword(w, keyword))
    }

    /// Offset of the next token, or of the end of the input.
    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.at)
    }

    fn filter(&mut self) -> Result<Expr, Error> {
        if self.tokens.is_empty() {
            return Err((0, "empty filter".to_owned()));
        }
        let expr = self.or()?;
        match self.peek() {
            None => Ok(expr),
            Some(Token {
                tok: Tok::Close,
                at,
            }) => Err((
                *at,
                "unbalanced parenthesis: `)` without a matching `(`".to_owned(),
            )),
            Some(t) => Err((
                t.at,
                format!(
                    "expected `and`, `or` or the end of the filter, found {}",
                    t.tok.describe()
                ),
            )),
        }
    }

    fn or(&mut self) -> Result<Expr, Error> {
        let first = self.and()?;
        if !self.peek_word("or") {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek_word("or") {
            self.pos += 1;
            operands.push(self.and()?);
        }
        Ok(Expr::Or(operands))
    }

    fn and(&mut self) -> Result<Expr, Error> {
        let first = self.factor()?;
        if !self.peek_word("and") {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek_word("and") {
            self.pos += 1;
            operands.push(self.factor()?);
        }
        Ok(Expr::And(operands))
    }

    fn expected_expression(&self) -> Error {
        let wanted = "expected an attribute name, `(` or `not`";
        match (
            self.pos.checked_sub(1).and_then(|p| self.tokens.get(p)),
            self.peek(),
        ) {
            (_, Some(t)) => (t.at, format!("{wanted}, found {}", t.tok.describe())),
            (Some(prev), None) => (self.end, format!("{wanted} after {}", prev.tok.describe())),
            (None, None) => (self.end, "empty filter".to_owned()),
        }
    }

    fn factor(&mut self) -> Result<Expr, Error> {
        let Some(token) = self.peek() else {
            return Err(self.expected_expression());
        };
        let at = token.at;
        match token.tok {
            Tok::Open => {
                self.pos += 1;
                self.group(at)
            }
            Tok::Word(w) if is_keyword(w, "not") => {
                self.pos += 1;
                match self.peek() {
                    Some(Token { tok: Tok::Open, .. }) => {
                        self.pos += 1;
                        Ok(Expr::Not(Box::new(self.group(at)?)))
                    }
                    _ => Err((self.here(), "expected `(` after `not`".to_owned())),
                }
            }
            Tok::Word(w) if is_keyword(w, "and") || is_keyword(w, "or") => {
                Err(self.expected_expression())
            }
            Tok::Word(w) if operator(w).is_some() => Err((
                at,
                format!(
                    "expected an attribute name before the operator {}",
                    quote(w)
                ),
            )),
            Tok::Word(w) if !valid_path(w) => {
                Err((at, format!("invalid attribute name {}", quote(w))))
            }
            Tok::Word(w) => {
                self.pos += 1;
                self.comparison(w)
            }
            _ => Err(self.expected_expression()),
        }
    }

    /// The rest of a group whose `(` (or `not`) is at byte `open` and was just consumed.
    fn group(&mut self, open: usize) -> Result<Expr, Error> {
        if self.depth >= MAX_DEPTH {
            return Err((
                open,
                format!("filter nested too deeply (more than {MAX_DEPTH} levels of `(` or `not`)"),
            ));
        }
        self.depth += 1;
        let inner = self.or()?;
        self.depth -= 1;
        match self.peek() {
            Some(Token {
                tok: Tok::Close, ..
            }) => {
                self.pos += 1;
                Ok(inner)
            }
            None => Err((
                open,
                "unbalanced parenthesis: this `(` is never closed".to_owned(),
            )),
            Some(t) => Err((
                t.at,
                format!("expected `and`, `or` or `)`, found {}", t.tok.describe()),
            )),
        }
    }

    /// After attribute `attr`: its operator and value.
    fn comparison(&mut self, attr: &str) -> Result<Expr, Error> {
        let missing = |found: Option<&Token<'_>>| match found {
            Some(t) => format!(
                "expected an operator after {}, found {}",
                quote(attr),
                t.tok.describe()
            ),
            None => format!("expected an operator after {}", quote(attr)),
        };
        let (op, op_word) = match self.peek() {
            Some(Token {
                tok: Tok::Word(w),
                at,
            }) => match operator(w) {
                Some(op) => (op, *w),
                None => return Err((*at, format!("unknown operator {}", quote(w)))),
            },
            other => return Err((self.here(), missing(other))),
        };
        self.pos += 1;
        let Some(op) = op else {
            return Ok(Expr::Present(attr.to_owned()));
        };
        let value = match self.peek().map(|t| &t.tok) {
            Some(Tok::Str(s)) => Literal::String(s.clone()),
            Some(Tok::Num(n)) => Literal::Number(n.clone()),
            Some(Tok::Word(w)) if is_keyword(w, "true") => Literal::Bool(true),
            Some(Tok::Word(w)) if is_keyword(w, "false") => Literal::Bool(false),
            Some(Tok::Word(w)) if is_keyword(w, "null") => Literal::Null,
            other => {
                let wanted = format!(
                    "expected a value (a quoted string, number, true, false or null) after {}",
                    quote(op_word)
                );
                let message = match other {
                    Some(t) => format!("{wanted}, found {}", t.describe()),
                    None => wanted,
                };
                return Err((self.here(), message));
            }
        };
        self.pos += 1;
        Ok(Expr::Compare {
            attr: attr.to_owned(),
            op,
            value,
        })
    }
}
