//! How `ecs-bridge diff` shows a difference: one block per object, one entry per
//! field path, `- old` and `+ new` lines as `diff` and `kubectl diff` print them.
//! Pure, so the format has its own tests.

use serde_json::Value;

/// One field that applying would change: its path (`containerDefinitions[app].image`)
/// and its value in ECS and in the manifest (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl FieldChange {
    pub fn new(path: impl Into<String>, old: Option<Value>, new: Option<Value>) -> Self {
        Self { path: path.into(), old, new }
    }
}

/// What applying one manifest would do in ECS.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectDiff {
    /// `EcsService default/web`.
    pub object: String,
    /// What it is in ECS (`ECS service web in cluster demo`).
    pub target: String,
    /// Whole-object remarks: "would be created", "would be adopted", "left alone because…".
    pub notes: Vec<String>,
    pub fields: Vec<FieldChange>,
}

impl ObjectDiff {
    /// Whether applying changes anything (a note alone, such as an adoption, counts).
    pub fn changes(&self) -> bool {
        !self.fields.is_empty() || !self.notes.is_empty()
    }
}

/// The field changes between two JSON trees, by path. Objects compare key by key;
/// lists whose items all carry a `name` (or `key`, `containerName`) compare item by
/// item under that name (`environment[MODE].value`); other lists as wholes.
pub fn json_changes(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(a), Some(b)) if a == b => {}
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                json_changes(&join(path, key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if keyed(a).is_some() && keyed(a) == keyed(b) => {
            let field = keyed(a).unwrap_or_default();
            let id = |v: &Value| v.get(field).and_then(Value::as_str).map(str::to_owned).unwrap_or_default();
            let mut ids: Vec<String> = a.iter().chain(b).map(id).collect();
            ids.dedup();
            let mut seen = std::collections::BTreeSet::new();
            for name in ids {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let find = |list: &[Value]| list.iter().find(|v| id(v) == name).cloned();
                let (x, y) = (find(a), find(b));
                json_changes(&format!("{path}[{name}]"), x.as_ref(), y.as_ref(), out);
            }
        }
        (None, None) => {}
        (a, b) => out.push(FieldChange::new(path, a.cloned(), b.cloned())),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The field that names the items of `list`, when every item has one.
fn keyed(list: &[Value]) -> Option<&'static str> {
    ["name", "key", "containerName", "capacityProvider"]
        .into_iter()
        .find(|field| !list.is_empty() && list.iter().all(|item| item.get(*field).is_some_and(Value::is_string)))
}

/// A value as the lines a person reads: scalars as they are, structures as YAML.
fn lines_of(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Null | Value::Bool(_) | Value::Number(_) => vec![value.to_string()],
        other => {
            serde_yaml::to_string(other).unwrap_or_else(|_| other.to_string()).lines().map(str::to_owned).collect()
        }
    }
}

/// The diff of one object, as text:
///
/// ```text
/// --- EcsService default/web: ECS service web in cluster demo
///   desiredCount:
/// -   2
/// +   3
/// ```
pub fn render(diff: &ObjectDiff) -> String {
    let mut out = format!("--- {}: {}\n", diff.object, diff.target);
    for note in &diff.notes {
        out.push_str(&format!("  # {note}\n"));
    }
    for field in &diff.fields {
        out.push_str(&format!("  {}:\n", field.path));
        for (sign, value) in [('-', &field.old), ('+', &field.new)] {
            if let Some(value) = value {
                for line in lines_of(value) {
                    out.push_str(&format!("{sign}   {line}\n"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(old: Value, new: Value) -> Vec<FieldChange> {
        let mut out = Vec::new();
        json_changes("", Some(&old), Some(&new), &mut out);
        out
    }

    #[test]
    fn equal_trees_have_no_change() {
        let tree = json!({"containerDefinitions": [{"name": "app", "image": "x"}], "cpu": "256"});
        assert!(changes(tree.clone(), tree).is_empty());
    }

    #[test]
    fn named_items_are_compared_by_name_not_by_position() {
        let old = json!({"containerDefinitions": [
            {"name": "app", "image": "web:1", "environment": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "envoy"}
        ]});
        let new = json!({"containerDefinitions": [
            {"name": "sidecar", "image": "envoy"},
            {"name": "app", "image": "web:2", "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
        ]});
        let paths: Vec<(String, Option<Value>, Option<Value>)> =
            changes(old, new).into_iter().map(|c| (c.path, c.old, c.new)).collect();
        assert_eq!(
            paths,
            vec![
                ("containerDefinitions[app].environment[B]".to_owned(), None, Some(json!({"name": "B", "value": "2"}))),
                ("containerDefinitions[app].image".to_owned(), Some(json!("web:1")), Some(json!("web:2"))),
            ]
        );
    }

    #[test]
    fn unnamed_lists_change_as_a_whole_and_absent_fields_show_one_side() {
        let found = changes(json!({"command": ["a", "b"], "cpu": "256"}), json!({"command": ["a"], "memory": "512"}));
        assert_eq!(
            found,
            vec![
                FieldChange::new("command", Some(json!(["a", "b"])), Some(json!(["a"]))),
                FieldChange::new("cpu", Some(json!("256")), None),
                FieldChange::new("memory", None, Some(json!("512"))),
            ]
        );
    }

    #[test]
    fn renders_like_diff() {
        let diff = ObjectDiff {
            object: "EcsService default/web".to_owned(),
            target: "ECS service web in cluster demo".to_owned(),
            notes: vec!["adopted: the object carries ecs-bridge.dev/adopt".to_owned()],
            fields: vec![
                FieldChange::new("desiredCount", Some(json!(2)), Some(json!(3))),
                FieldChange::new("tags[team]", None, Some(json!({"key": "team", "value": "a"}))),
            ],
        };
        assert_eq!(
            render(&diff),
            "--- EcsService default/web: ECS service web in cluster demo\n\
             \x20 # adopted: the object carries ecs-bridge.dev/adopt\n\
             \x20 desiredCount:\n\
             -   2\n\
             +   3\n\
             \x20 tags[team]:\n\
             +   key: team\n\
             +   value: a\n"
        );
        assert!(diff.changes());
        assert!(!ObjectDiff::default().changes());
    }
}
