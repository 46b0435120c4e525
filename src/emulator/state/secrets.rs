//! The secrets a task definition's `secrets[].valueFrom` names, as the ECS
//! agent fetches them from Secrets Manager or SSM Parameter Store before it
//! starts the containers. No such service runs here: tests and users put the
//! values in (`POST /_emulator/secrets`), and the agent resolves references
//! the way ECS accepts them: a Secrets Manager ARN (with ECS's
//! `:json-key:version-stage:version-id` suffix picking one key of a JSON
//! secret), an SSM parameter ARN, or a parameter name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every secret value put in, by the reference it was put under.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    pub values: BTreeMap<String, String>,
}

/// A reference that resolves to nothing, with ECS's wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unresolved(pub String);

/// The parts of a Secrets Manager `valueFrom`: the secret's own ARN and the
/// JSON key asked for, if any.
fn secrets_manager(value_from: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = value_from.split(':').collect();
    if parts.len() < 7 || parts[2] != "secretsmanager" || parts[5] != "secret" {
        return None;
    }
    let arn = parts[..7].join(":");
    let key = parts.get(7).filter(|k| !k.is_empty()).map(|k| (*k).to_owned());
    Some((arn, key))
}

/// The parameter name of an SSM reference: `arn:aws:ssm:…:parameter/name`
/// is `/name`; a bare name is itself (with a leading `/` or not).
fn parameter_name(reference: &str) -> Option<String> {
    if reference.starts_with("arn:") {
        let parts: Vec<&str> = reference.splitn(6, ':').collect();
        let resource = parts.get(5).filter(|_| parts.get(2) == Some(&"ssm"))?;
        return resource
            .strip_prefix("parameter")
            .map(|n| if n.starts_with('/') { n.to_owned() } else { format!("/{n}") });
    }
    Some(if reference.starts_with('/') { reference.to_owned() } else { format!("/{reference}") })
}

impl Secrets {
    pub fn put(&mut self, value_from: &str, value: &str) {
        self.values.insert(value_from.to_owned(), value.to_owned());
    }

    /// The value `value_from` names, or why the task cannot start.
    pub fn resolve(&self, value_from: &str) -> Result<String, Unresolved> {
        if let Some(value) = self.values.get(value_from) {
            return Ok(value.clone());
        }
        if let Some((arn, key)) = secrets_manager(value_from) {
            let missing = || {
                Unresolved(format!(
                    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret {arn} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret."
                ))
            };
            let secret = self.values.get(&arn).ok_or_else(missing)?;
            let Some(key) = key else { return Ok(secret.clone()) };
            let json: serde_json::Value = serde_json::from_str(secret).map_err(|_| {
                Unresolved(format!(
                    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key {key}"
                ))
            })?;
            return match json.get(&key) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
                None => Err(Unresolved(format!(
                    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key {key}"
                ))),
            };
        }
        let wanted = parameter_name(value_from);
        let found = self.values.iter().find(|(stored, _)| wanted.is_some() && parameter_name(stored) == wanted);
        found.map(|(_, v)| v.clone()).ok_or_else(|| {
            Unresolved(format!(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: {}",
                wanted.unwrap_or_else(|| value_from.to_owned())
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";

    fn store() -> Secrets {
        let mut s = Secrets::default();
        s.put(ARN, r#"{"user": "app", "port": 5432}"#);
        s.put("/prod/api-key", "k-123");
        s.put("arn:aws:ssm:us-east-1:000000000000:parameter/shared/token", "t-9");
        s
    }

    #[test]
    fn secrets_manager_arns_and_json_keys() {
        let s = store();
        assert_eq!(s.resolve(ARN).unwrap(), r#"{"user": "app", "port": 5432}"#);
        assert_eq!(s.resolve(&format!("{ARN}:user::")).unwrap(), "app");
        assert_eq!(s.resolve(&format!("{ARN}:port::")).unwrap(), "5432");
        let e = s.resolve(&format!("{ARN}:password::")).unwrap_err();
        assert!(e.0.contains("did not contain json key password"), "{e}");
        let e = s.resolve("arn:aws:secretsmanager:us-east-1:000000000000:secret:other").unwrap_err();
        assert!(e.0.starts_with("ResourceInitializationError: ") && e.0.contains("can't find the specified secret"));
    }

    #[test]
    fn ssm_parameters_by_name_or_arn() {
        let s = store();
        assert_eq!(s.resolve("/prod/api-key").unwrap(), "k-123");
        assert_eq!(s.resolve("arn:aws:ssm:us-east-1:000000000000:parameter/prod/api-key").unwrap(), "k-123");
        assert_eq!(s.resolve("/shared/token").unwrap(), "t-9");
        let e = s.resolve("/nope").unwrap_err();
        assert!(e.0.ends_with("invalid parameters: /nope"), "{e}");
    }
}
