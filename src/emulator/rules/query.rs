//! ECS's cluster query language, used by ListContainerInstances `filter`
//! and `memberOf` placement constraints
//! (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html>):
//! `subject operator [argument]` joined with `&&`/`and`, `||`/`or`,
//! `!`/`not` and parentheses.

use crate::emulator::state::ClusterState;
use crate::emulator::state::records::ContainerInstanceEntry;
use crate::emulator::wire::error::{EcsError, EcsResult};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    ListOpen,
    ListClose,
    Comma,
    Word(String),
}

fn tokenize(input: &str) -> EcsResult<Vec<Token>> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '[' => {
                tokens.push(Token::ListOpen);
                i += 1;
            }
            ']' => {
                tokens.push(Token::ListClose);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' | '"' => {
                let end =
                    chars[i + 1..].iter().position(|x| *x == c).ok_or_else(|| bad(input, "unterminated quote"))?;
                tokens.push(Token::Word(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            _ => {
                let start = i;
                let operator_chars = "=!<>~&|";
                if operator_chars.contains(c) {
                    while i < chars.len() && operator_chars.contains(chars[i]) {
                        i += 1;
                    }
                    // `!exists`, `!in` are one operator.
                    if c == '!' && i - start == 1 && i < chars.len() && chars[i].is_alphabetic() {
                        while i < chars.len() && chars[i].is_alphanumeric() {
                            i += 1;
                        }
                        let word: String = chars[start..i].iter().collect();
                        if word != "!exists" && word != "!in" {
                            tokens.push(Token::Word("!".into()));
                            i = start + 1;
                            continue;
                        }
                        tokens.push(Token::Word(word));
                        continue;
                    }
                } else {
                    while i < chars.len()
                        && !chars[i].is_whitespace()
                        && !"()[],'\"".contains(chars[i])
                        && !"=!<>~&|".contains(chars[i])
                    {
                        i += 1;
                    }
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

fn bad(expr: &str, why: &str) -> EcsError {
    EcsError::invalid(format!("Invalid cluster query expression '{expr}': {why}."))
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare { subject: String, op: String, args: Vec<String> },
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    text: &'a str,
}

const OPERATORS: &[(&str, &str)] = &[
    ("==", "=="),
    ("equals", "=="),
    ("!=", "!="),
    ("not_equals", "!="),
    (">", ">"),
    ("greater_than", ">"),
    (">=", ">="),
    ("greater_than_equal", ">="),
    ("<", "<"),
    ("less_than", "<"),
    ("<=", "<="),
    ("less_than_equal", "<="),
    ("exists", "exists"),
    ("!exists", "!exists"),
    ("not_exists", "!exists"),
    ("in", "in"),
    ("!in", "!in"),
    ("not_in", "!in"),
    ("=~", "=~"),
    ("matches", "=~"),
    ("!~", "!~"),
    ("not_matches", "!~"),
];

impl Parser<'_> {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn or(&mut self) -> EcsResult<Expr> {
        let mut left = self.and()?;
        while matches!(self.peek_word(), Some("||" | "or")) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> EcsResult<Expr> {
        let mut left = self.unary()?;
        while matches!(self.peek_word(), Some("&&" | "and")) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> EcsResult<Expr> {
        if matches!(self.peek_word(), Some("!" | "not")) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.pos) == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.tokens.get(self.pos) != Some(&Token::Close) {
                return Err(bad(self.text, "missing ')'"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.compare()
    }

    fn compare(&mut self) -> EcsResult<Expr> {
        let subject = self.peek_word().ok_or_else(|| bad(self.text, "expected a subject"))?.to_owned();
        let known = subject.starts_with("attribute:")
            || matches!(
                subject.as_str(),
                "agentConnected"
                    | "agentVersion"
                    | "ec2InstanceId"
                    | "registeredAt"
                    | "runningTasksCount"
                    | "task:group"
            );
        if !known {
            return Err(bad(self.text, &format!("unknown subject '{subject}'")));
        }
        self.pos += 1;
        let raw = self.peek_word().ok_or_else(|| bad(self.text, "expected an operator"))?.to_owned();
        let op = OPERATORS
            .iter()
            .find(|(k, _)| *k == raw)
            .map(|(_, v)| (*v).to_owned())
            .ok_or_else(|| bad(self.text, &format!("unknown operator '{raw}'")))?;
        self.pos += 1;
        let mut args = Vec::new();
        if op.ends_with("exists") {
            return Ok(Expr::Compare { subject, op, args });
        }
        if op.ends_with("in") {
            if self.tokens.get(self.pos) != Some(&Token::ListOpen) {
                return Err(bad(self.text, "'in' needs a list like [a, b]"));
            }
            self.pos += 1;
            loop {
                match self.tokens.get(self.pos) {
                    Some(Token::Word(w)) => args.push(w.clone()),
                    Some(Token::ListClose) => {
                        self.pos += 1;
                        break;
                    }
                    Some(Token::Comma) => {}
                    _ => return Err(bad(self.text, "unterminated list")),
                }
                self.pos += 1;
            }
        } else {
            let arg = self.peek_word().ok_or_else(|| bad(self.text, "expected an argument"))?.to_owned();
            self.pos += 1;
            args.push(arg);
        }
        Ok(Expr::Compare { subject, op, args })
    }
}

/// Parses an expression (≤ 2000 characters, like ECS).
pub fn parse(text: &str) -> EcsResult<Expr> {
    if text.chars().count() > 2000 {
        // The message quotes the start, cut at a character (never mid-UTF-8).
        let start: String = text.chars().take(40).collect();
        return Err(bad(&start, "longer than 2000 characters"));
    }
    let mut parser = Parser { tokens: tokenize(text)?, pos: 0, text };
    let expr = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err(bad(text, "unexpected trailing input"));
    }
    Ok(expr)
}

/// Java-`matches` style full match for the regex subset `. * + ?` and
/// literals, by dynamic programming so no pattern can take exponential time.
fn regex_match(pattern: &[char], text: &[char]) -> bool {
    // Items: (char or '.', quantifier '1' | '*' | '+' | '?').
    let mut items = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        let q = match pattern.get(i + 1) {
            Some(&q @ ('*' | '+' | '?')) => q,
            _ => '1',
        };
        items.push((pattern[i], q));
        i += if q == '1' { 1 } else { 2 };
    }
    let (n, m) = (items.len(), text.len());
    // ok[i][j]: items[i..] match text[j..].
    let mut ok = vec![vec![false; m + 1]; n + 1];
    ok[n][m] = true;
    for i in (0..n).rev() {
        let (c, q) = items[i];
        for j in (0..=m).rev() {
            let one = j < m && (c == '.' || text[j] == c);
            ok[i][j] = match q {
                '*' => ok[i + 1][j] || (one && ok[i][j + 1]),
                '+' => one && (ok[i + 1][j + 1] || ok[i][j + 1]),
                '?' => ok[i + 1][j] || (one && ok[i + 1][j + 1]),
                _ => one && ok[i + 1][j + 1],
            };
        }
    }
    ok[0][0]
}

fn compare_values(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

impl Expr {
    /// Whether a container instance satisfies the expression.
    pub fn matches(&self, state: &ClusterState, entry: &ContainerInstanceEntry) -> bool {
        match self {
            Expr::And(a, b) => a.matches(state, entry) && b.matches(state, entry),
            Expr::Or(a, b) => a.matches(state, entry) || b.matches(state, entry),
            Expr::Not(a) => !a.matches(state, entry),
            Expr::Compare { subject, op, args } => {
                let values = subject_values(state, entry, subject);
                let test = |v: &String| match op.as_str() {
                    "==" => args[0] == *v,
                    "!=" => args[0] != *v,
                    ">" => compare_values(v, &args[0]).is_gt(),
                    ">=" => compare_values(v, &args[0]).is_ge(),
                    "<" => compare_values(v, &args[0]).is_lt(),
                    "<=" => compare_values(v, &args[0]).is_le(),
                    "in" => args.contains(v),
                    "!in" => !args.contains(v),
                    "=~" | "!~" => {
                        let pattern: Vec<char> = args[0].chars().collect();
                        let text: Vec<char> = v.chars().collect();
                        regex_match(&pattern, &text) == (op == "=~")
                    }
                    _ => false,
                };
                match op.as_str() {
                    "exists" => !values.is_empty(),
                    "!exists" => values.is_empty(),
                    "!=" | "!in" | "!~" => values.iter().all(test),
                    _ => values.iter().any(test),
                }
            }
        }
    }
}

fn subject_values(state: &ClusterState, entry: &ContainerInstanceEntry, subject: &str) -> Vec<String> {
    let instance = &entry.instance;
    if let Some(name) = subject.strip_prefix("attribute:") {
        return instance
            .attributes
            .iter()
            .filter(|a| a.name == name)
            .map(|a| a.value.clone().unwrap_or_default())
            .collect();
    }
    match subject {
        "agentConnected" => vec![instance.agent_connected.to_string()],
        "agentVersion" => instance
            .version_info
            .as_ref()
            .and_then(|v| v.get("agentVersion"))
            .and_then(|v| v.as_str())
            .map(|v| vec![v.to_owned()])
            .unwrap_or_default(),
        "ec2InstanceId" => vec![instance.ec2_instance_id.clone()],
        "registeredAt" => vec![(instance.registered_at.0 / 1000).to_string()],
        "runningTasksCount" => vec![
            state
                .tasks
                .values()
                .filter(|t| {
                    t.container_instance_id.as_deref() == Some(entry.id())
                        && t.task.desired_status == "RUNNING"
                        && !t.is_stopped()
                })
                .count()
                .to_string(),
        ],
        "task:group" => state
            .tasks
            .values()
            .filter(|t| t.container_instance_id.as_deref() == Some(entry.id()) && !t.is_stopped())
            .map(|t| t.task.group.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        for e in [
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
            "not(task:group == database)",
            "runningTasksCount == 1",
            "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
            "attribute:color exists || !(agentConnected == false)",
            "attribute:color !exists",
        ] {
            assert!(parse(e).is_ok(), "{e}: {:?}", parse(e));
        }
        assert!(parse("bogus == 1").is_err());
        assert!(parse("attribute:x ==").is_err());
        assert!(parse("(attribute:x exists").is_err());
    }

    #[test]
    fn regex_subset() {
        let m = |p: &str, t: &str| regex_match(&p.chars().collect::<Vec<_>>(), &t.chars().collect::<Vec<_>>());
        assert!(m("g2.*", "g2.large"));
        assert!(!m("g2.*", "t3.large"));
        assert!(m("t.?3", "t3"));
        assert!(m("a+b", "aaab"));
    }
}
