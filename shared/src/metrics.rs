//! Operational metrics as CloudWatch Embedded Metric Format (EMF) lines: one JSON object per
//! observation, printed to stdout, which Lambda hands to CloudWatch Logs; CloudWatch extracts
//! the metrics from the `_aws` block (no PutMetricData call, no extra latency, no IAM).
//!
//! Every metric Switchboard emits is an [`Observation`]: the names, units and dimensions are
//! decided here, once. Dimension values are ids and enum names only (an endpoint's id, never its
//! URL or secret), so a line never carries anything secret or personal.
//!
//! A crate exists (`metrics_cloudwatch_embedded`, a backend of the `metrics` facade); it
//! aggregates in a global recorder that each main must flush per invocation. An observation
//! here is already one line where its dimensions are known, so a small emitter over
//! `serde_json` is simpler and keeps the lines unit-testable.

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Switchboard";

/// One thing worth counting or timing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Observation<'a> {
    /// One delivery attempt: its outcome (`success`, `failed`, `pending` = a retry is due) and
    /// its latency.
    Attempt {
        endpoint_id: i64,
        outcome: &'a str,
        latency_ms: u64,
    },
    /// How long the oldest event of a fan-out waited since it was published (outbox + queue).
    QueueAge { seconds: f64, events: usize },
    /// One execution of an incoming webhook: its outcome (`success`, `failed`, `ignored`,
    /// `unresolved`) and its source (`form` or a provider).
    Execution { source: &'a str, outcome: &'a str },
    /// A delivery kept as `held` for a paused endpoint
    /// (docs/reference/outgoing.md#pause-and-throttle).
    Held { endpoint_id: i64, count: u64 },
    /// A delivery that found no turn in its endpoint's `rate_limit` window and waits (§6.9).
    Throttled { endpoint_id: i64, count: u64 },
    /// Silence alerts opened and closed by one sweep.
    Silence { silent: u64, resumed: u64 },
}

#[derive(Clone, Copy)]
enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// Dimension sets (names), dimension values and metrics (name, unit, value) of one line.
type Parts = (
    Vec<Vec<&'static str>>,
    Vec<(&'static str, Value)>,
    Vec<(&'static str, Unit, f64)>,
);

/// A count per endpoint (and overall).
fn per_endpoint(metric: &'static str, endpoint_id: i64, count: u64) -> Parts {
    (
        vec![vec![], vec!["EndpointId"]],
        vec![("EndpointId", json!(endpoint_id.to_string()))],
        vec![(metric, Unit::Count, count as f64)],
    )
}

impl Observation<'_> {
    /// Dimension sets (each a list of dimension names), dimension values, and metrics.
    #[allow(clippy::type_complexity)]
    fn parts(
        &self,
    ) -> (
        Vec<Vec<&'static str>>,
        Vec<(&'static str, Value)>,
        Vec<(&'static str, Unit, f64)>,
    ) {
        match *self {
            Observation::Attempt {
                endpoint_id,
                outcome,
                latency_ms,
            } => (
                vec![vec!["Outcome"], vec!["EndpointId", "Outcome"]],
                vec![
                    ("Outcome", json!(outcome)),
                    ("EndpointId", json!(endpoint_id.to_string())),
                ],
                vec![
                    ("Deliveries", Unit::Count, 1.0),
                    ("AttemptLatency", Unit::Milliseconds, latency_ms as f64),
                ],
            ),
            Observation::QueueAge { seconds, events } => (
                vec![vec![]],
                vec![],
                vec![
                    ("QueueAgeAtFanOut", Unit::Seconds, seconds),
                    ("EventsFannedOut", Unit::Count, events as f64),
                ],
            ),
            Observation::Execution { source, outcome } => (
                vec![vec!["Outcome"], vec!["Source", "Outcome"]],
                vec![("Outcome", json!(outcome)), ("Source", json!(source))],
                vec![("Executions", Unit::Count, 1.0)],
            ),
            Observation::Held { endpoint_id, count } => per_endpoint("Held", endpoint_id, count),
            Observation::Throttled { endpoint_id, count } => {
                per_endpoint("Throttled", endpoint_id, count)
            }
            Observation::Silence { silent, resumed } => (
                vec![vec![]],
                vec![],
                vec![
                    ("SilentWebhooks", Unit::Count, silent as f64),
                    ("ResumedWebhooks", Unit::Count, resumed as f64),
                ],
            ),
        }
    }

    /// The EMF document of this observation at `timestamp_ms` (pure).
    pub fn line(&self, function: &str, timestamp_ms: i64) -> Value {
        let (sets, dims, metrics) = self.parts();
        let sets: Vec<Vec<&str>> = sets
            .into_iter()
            .map(|s| std::iter::once("Function").chain(s).collect())
            .collect();
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.name()}))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": sets,
                    "Metrics": definitions,
                }],
            }),
        );
        doc.insert("Function".into(), json!(function));
        for (k, v) in dims {
            doc.insert(k.into(), v);
        }
        for (name, _, value) in metrics {
            doc.insert(name.into(), json!(value));
        }
        Value::Object(doc)
    }

    /// Prints the observation's EMF line (one line on stdout).
    pub fn emit(&self) {
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
        let line = self.line(&function, crate::domain::time::now().as_millisecond());
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line is a valid EMF document: each declared metric and dimension is present at top
    /// level, with the right JSON type.
    fn assert_emf(v: &Value) {
        let aws = &v["_aws"];
        assert!(aws["Timestamp"].is_i64(), "{v}");
        let cw = &aws["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], NAMESPACE);
        for set in cw["Dimensions"].as_array().unwrap() {
            assert!(set.as_array().unwrap().len() <= 30);
            for d in set.as_array().unwrap() {
                assert!(v[d.as_str().unwrap()].is_string(), "dimension {d} in {v}");
            }
        }
        for m in cw["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "metric {name} in {v}");
            assert!(["Count", "Milliseconds", "Seconds"].contains(&m["Unit"].as_str().unwrap()));
        }
    }

    #[test]
    fn lines_have_the_emf_shape() {
        let all = [
            Observation::Attempt {
                endpoint_id: 7,
                outcome: "failed",
                latency_ms: 120,
            },
            Observation::QueueAge {
                seconds: 1.5,
                events: 3,
            },
            Observation::Execution {
                source: "stripe",
                outcome: "success",
            },
            Observation::Held {
                endpoint_id: 7,
                count: 2,
            },
            Observation::Throttled {
                endpoint_id: 7,
                count: 1,
            },
            Observation::Silence {
                silent: 1,
                resumed: 0,
            },
        ];
        for o in all {
            let v = o.line("dispatch", 1_700_000_000_000);
            assert_emf(&v);
            assert_eq!(v["Function"], "dispatch");
            // One line: no newline inside.
            assert!(!v.to_string().contains('\n'));
        }
        let v = all[0].line("dispatch", 1);
        assert_eq!(v["EndpointId"], "7");
        assert_eq!(v["Outcome"], "failed");
        assert_eq!(v["Deliveries"], 1.0);
        assert_eq!(v["AttemptLatency"], 120.0);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([
                ["Function", "Outcome"],
                ["Function", "EndpointId", "Outcome"]
            ])
        );
    }

    #[test]
    fn lines_carry_ids_and_names_only() {
        let v = Observation::Attempt {
            endpoint_id: 42,
            outcome: "success",
            latency_ms: 5,
        }
        .line("dispatch", 1);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            6,
            "_aws, Function, Outcome, EndpointId, Deliveries, AttemptLatency: {keys:?}"
        );
        let text = v.to_string().to_lowercase();
        for word in ["secret", "password", "url", "http", "email", "signature"] {
            assert!(!text.contains(word), "{word} in {text}");
        }
    }
}
