//! Property expressions: literal values mixed with references to other
//! resources' outputs (Pulumi's `Output<T>`). References are what the graph's
//! edges are made of, and what a plan shows as `(known after apply)`.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Shown, and stored in plans, in place of a value that depends on an output
/// not known until a dependency is created or replaced.
pub const UNKNOWN: &str = "(known after apply)";

/// Outputs of every resource known so far: resource key → output name → value.
pub type OutputsByResource = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Value),
    /// The output `output` of resource `resource`.
    Ref {
        resource: &'static str,
        output: &'static str,
    },
    /// String concatenation of the parts (each must resolve to a string).
    Concat(Vec<Expr>),
    Object(Vec<(String, Expr)>),
    List(Vec<Expr>),
}

pub fn lit(v: impl Into<Value>) -> Expr {
    Expr::Lit(v.into())
}

pub fn output(resource: &'static str, output: &'static str) -> Expr {
    Expr::Ref { resource, output }
}

impl Expr {
    /// Every resource this expression refers to, in order of appearance.
    pub fn references(&self, into: &mut Vec<&'static str>) {
        match self {
            Expr::Lit(_) => {}
            Expr::Ref { resource, .. } => {
                if !into.contains(resource) {
                    into.push(resource)
                }
            }
            Expr::Concat(parts) | Expr::List(parts) => {
                parts.iter().for_each(|p| p.references(into))
            }
            Expr::Object(fields) => fields.iter().for_each(|(_, e)| e.references(into)),
        }
    }

    /// Resolves against the outputs known now. A reference to an output not
    /// (yet) known resolves to [`UNKNOWN`]; so does a concatenation with an
    /// unknown part, since its value cannot be shown in part.
    pub fn resolve(&self, outputs: &OutputsByResource) -> Value {
        match self {
            Expr::Lit(v) => v.clone(),
            Expr::Ref { resource, output } => outputs
                .get(*resource)
                .and_then(|o| o.get(*output))
                .map(|s| Value::String(s.clone()))
                .unwrap_or_else(|| Value::String(UNKNOWN.into())),
            Expr::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p.resolve(outputs) {
                        Value::String(part) if part == UNKNOWN => return UNKNOWN.into(),
                        Value::String(part) => s.push_str(&part),
                        other => s.push_str(&other.to_string()),
                    }
                }
                Value::String(s)
            }
            Expr::Object(fields) => {
                let mut m = Map::new();
                for (k, e) in fields {
                    m.insert(k.clone(), e.resolve(outputs));
                }
                Value::Object(m)
            }
            Expr::List(items) => Value::Array(items.iter().map(|e| e.resolve(outputs)).collect()),
        }
    }
}

/// Builds an [`Expr::Concat`] from string literals and expressions.
macro_rules! concat_expr {
    ($($part:expr),+ $(,)?) => {
        $crate::engine::expr::Expr::Concat(vec![$($crate::engine::expr::IntoExpr::into_expr($part)),+])
    };
}
pub(crate) use concat_expr;

/// Lets `concat_expr!` and the object helpers take `&str` and `Expr` alike.
pub trait IntoExpr {
    fn into_expr(self) -> Expr;
}

impl IntoExpr for Expr {
    fn into_expr(self) -> Expr {
        self
    }
}

impl IntoExpr for &str {
    fn into_expr(self) -> Expr {
        Expr::Lit(Value::String(self.to_owned()))
    }
}

impl IntoExpr for String {
    fn into_expr(self) -> Expr {
        Expr::Lit(Value::String(self))
    }
}

impl IntoExpr for Value {
    fn into_expr(self) -> Expr {
        Expr::Lit(self)
    }
}

/// An object expression from `(key, value)` pairs.
pub fn object<I, K, V>(fields: I) -> Expr
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: IntoExpr,
{
    Expr::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.into(), v.into_expr()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_known_and_unknown_references() {
        let e = object([
            (
                "Resource",
                concat_expr!("arn:", output("table", "arn"), "/x"),
            ),
            ("Static", lit("s")),
        ]);
        let mut refs = vec![];
        e.references(&mut refs);
        assert_eq!(refs, vec!["table"]);

        let empty = OutputsByResource::new();
        let v = e.resolve(&empty);
        assert_eq!(v, json!({"Resource": UNKNOWN, "Static": "s"}));

        let mut known = OutputsByResource::new();
        known.insert(
            "table".into(),
            [("arn".to_string(), "T".to_string())].into(),
        );
        assert_eq!(
            e.resolve(&known),
            json!({"Resource": "arn:T/x", "Static": "s"})
        );
    }
}
