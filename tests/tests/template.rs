//! The SAM template (`infra/template.yaml`) against the code, and the sample events (`events/`)
//! against the functions.
//!
//! - every route of the template reaches a function whose router answers it, and every route a
//!   router declares is reachable through the template (to the right function);
//! - every environment variable `shared/src/config.rs` reads is set for the functions that need
//!   it, the clear admin password never is, and nothing else is set;
//! - table, queue, timeouts and IAM actions agree with what the code does;
//! - every `events/*.json` parses as the event its function receives and is answered.
//!
//! The template is parsed with a YAML library (CloudFormation's short tags such as `!Ref`,
//! `!GetAtt`, `!Sub`, `!If` are kept as tagged values); the route tables and the configuration
//! variables come from the library as data (`transport::*::route_paths`, `config::VARIABLES`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use axum::Router;
use lambda_http::aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_http::aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};
use switchboard::domain::events::EventBatch;
use switchboard_tests::TestEnv;

// ------------------------------------------------------------------ the YAML view --------

/// A view of one YAML node: its key (`-` for a list item), its scalar value (a tagged scalar
/// as `!Tag value`, a tagged list or mapping as `!Tag` with the content as children), and
/// the nodes under it.
#[derive(Debug, Clone, Default)]
struct Node {
    key: String,
    value: String,
    children: Vec<Node>,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.key == key)
    }

    /// Follows a path of keys.
    fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k))
    }

    fn value_at(&self, path: &[&str]) -> Option<String> {
        self.at(path).map(|n| n.value.clone())
    }

    /// List items (`- ...`) directly under this node.
    fn items(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter(|c| c.key == "-")
    }

    /// The scalar values of a list under this node (`- a`), or its own value.
    fn scalars(&self) -> Vec<String> {
        let items: Vec<String> = self.items().map(|i| i.value.clone()).collect();
        if items.is_empty() && !self.value.is_empty() {
            vec![self.value.clone()]
        } else {
            items
        }
    }

    /// This node and every node under it, depth first.
    fn walk(&self) -> Vec<&Node> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }

    /// Every scalar at or under this node (tags included).
    fn texts(&self) -> Vec<&str> {
        self.walk().into_iter().map(|n| n.value.as_str()).collect()
    }
}

fn scalar_text(v: &serde_norway::Value) -> String {
    use serde_norway::Value;
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn to_node(key: String, v: &serde_norway::Value) -> Node {
    use serde_norway::Value;
    match v {
        Value::Mapping(m) => Node {
            key,
            value: String::new(),
            children: m.iter().map(|(k, v)| to_node(scalar_text(k), v)).collect(),
        },
        Value::Sequence(items) => Node {
            key,
            value: String::new(),
            children: items.iter().map(|i| to_node("-".into(), i)).collect(),
        },
        Value::Tagged(t) => {
            let tag = format!("!{}", t.tag.to_string().trim_start_matches('!'));
            let inner = to_node(key, &t.value);
            let value = if inner.children.is_empty() {
                format!("{tag} {}", inner.value)
            } else {
                tag
            };
            Node { value, ..inner }
        }
        scalar => Node {
            key,
            value: scalar_text(scalar),
            children: Vec::new(),
        },
    }
}

fn parse_yaml(text: &str) -> Node {
    let value: serde_norway::Value = serde_norway::from_str(text).expect("valid YAML");
    to_node(String::new(), &value)
}

// ------------------------------------------------------------------ the template ----------

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

struct Template {
    doc: Node,
}

impl Template {
    fn load() -> Self {
        Self {
            doc: parse_yaml(&read("infra/template.yaml")),
        }
    }

    fn resources(&self) -> impl Iterator<Item = &Node> {
        self.doc
            .get("Resources")
            .expect("Resources")
            .children
            .iter()
    }

    fn resource(&self, name: &str) -> &Node {
        self.resources()
            .find(|r| r.key == name)
            .unwrap_or_else(|| panic!("resource {name}"))
    }

    fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.resources()
            .filter(move |r| r.value_at(&["Type"]).as_deref() == Some(ty))
    }

    /// Function resources by the binary they run (`incoming`, `admin`, ...).
    fn functions(&self) -> BTreeMap<String, &Node> {
        self.of_type("AWS::Serverless::Function")
            .map(|f| {
                let bin = f
                    .value_at(&["Metadata", "BuildProperties", "Binary"])
                    .unwrap_or_else(|| panic!("{}: Metadata.BuildProperties.Binary", f.key));
                (bin, f)
            })
            .collect()
    }

    fn function_of_resource(&self, resource: &str) -> String {
        self.functions()
            .into_iter()
            .find(|(_, f)| f.key == resource)
            .map(|(b, _)| b)
            .unwrap_or_else(|| panic!("{resource} is not a function"))
    }

    /// Environment of each function: Globals merged with its own variables.
    fn environments(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let globals = self
            .doc
            .at(&["Globals", "Function", "Environment", "Variables"])
            .map(|n| n.children.clone())
            .unwrap_or_default();
        self.functions()
            .into_iter()
            .map(|(bin, f)| {
                let mut env: BTreeMap<String, String> = globals
                    .iter()
                    .map(|v| (v.key.clone(), v.value.clone()))
                    .collect();
                if let Some(vars) = f.at(&["Properties", "Environment", "Variables"]) {
                    for v in &vars.children {
                        env.insert(v.key.clone(), v.value.clone());
                    }
                }
                (bin, env)
            })
            .collect()
    }

    /// `(route key, function)` for every API route.
    fn routes(&self) -> Vec<(String, String)> {
        self.of_type("AWS::ApiGatewayV2::Route")
            .map(|r| {
                let key = r.value_at(&["Properties", "RouteKey"]).expect("RouteKey");
                let target = r.value_at(&["Properties", "Target"]).expect("Target");
                let integration = target
                    .split("integrations/${")
                    .nth(1)
                    .and_then(|s| s.split('}').next())
                    .unwrap_or_else(|| panic!("{}: Target names no integration", r.key));
                let uri = self
                    .resource(integration)
                    .value_at(&["Properties", "IntegrationUri"])
                    .expect("IntegrationUri");
                let function = uri
                    .strip_prefix("!GetAtt ")
                    .and_then(|s| s.strip_suffix(".Arn"))
                    .unwrap_or_else(|| panic!("{integration}: IntegrationUri is not a function"));
                (key, self.function_of_resource(function))
            })
            .collect()
    }

    fn number(&self, resource: &str, path: &[&str]) -> i64 {
        self.resource(resource)
            .value_at(path)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{resource}.{}: not a number", path.join(".")))
    }
}

// ------------------------------------------------------------------ routes ----------------

/// Route paths the routers declare, by function: the tables the routers are built from.
fn handler_routes() -> BTreeSet<(String, String)> {
    let incoming = switchboard::transport::incoming::route_paths()
        .into_iter()
        .map(|p| ("incoming".to_string(), p.to_string()));
    let admin = switchboard::transport::admin::route_paths()
        .into_iter()
        .map(|p| ("admin".to_string(), p));
    incoming.chain(admin).collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Whether an API Gateway route key's path matches a request path.
fn route_matches(route_key: &str, path: &str) -> bool {
    let Some((_, pattern)) = route_key.split_once(' ') else {
        return false;
    };
    let pat: Vec<&str> = pattern.split('/').skip(1).collect();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    for (i, p) in pat.iter().enumerate() {
        if p.starts_with('{') && p.ends_with("+}") {
            // Greedy: one or more segments, a trailing slash included.
            return segs.get(i).is_some_and(|s| !s.is_empty());
        }
        let ok = match segs.get(i) {
            None => false,
            Some(s) if p.starts_with('{') => !s.is_empty(),
            Some(s) => s == p,
        };
        if !ok {
            return false;
        }
    }
    pat.len() == segs.len()
}

/// The route API Gateway picks for a path: the most specific match (no greedy variable first,
/// then most literal segments), else `$default`.
fn best_route<'a>(routes: &'a [(String, String)], path: &str) -> Option<&'a (String, String)> {
    let score = |key: &str| {
        let greedy = key.contains("+}");
        let literals = key.split('/').filter(|s| !s.starts_with('{')).count();
        (!greedy, literals)
    };
    routes
        .iter()
        .filter(|(k, _)| k != "$default" && route_matches(k, path))
        .max_by_key(|(k, _)| score(k))
        .or_else(|| routes.iter().find(|(k, _)| k == "$default"))
}

/// A concrete path for a route pattern.
fn concrete(pattern: &str, key: &str) -> String {
    pattern
        .split('/')
        .map(|s| match s {
            "{key}" => key.to_string(),
            s if s.starts_with('{') => "1".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// How an incoming path is called: the portal form needs its query string.
fn incoming_call(path: &str, key: &str) -> String {
    if path.contains(key) {
        path.to_string()
    } else {
        format!("{path}?fcom_action=incoming_webhook&webhook={key}")
    }
}

#[tokio::test]
async fn every_template_route_reaches_a_handler_and_every_handler_route_is_routed() {
    let template = Template::load();
    let routes = template.routes();
    let handlers = handler_routes();
    assert!(!routes.is_empty() && !handlers.is_empty());
    for (key, _) in &routes {
        assert!(
            key == "$default" || key.starts_with("ANY /"),
            "{key}: use ANY so that the function answers other methods itself (405)"
        );
    }

    // Every handler route is reached, through the template, by its own function.
    let mut reached: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (function, pattern) in &handlers {
        let path = concrete(pattern, "k1");
        let (route, target) = best_route(&routes, &path)
            .unwrap_or_else(|| panic!("{pattern} ({function}) is reached by no template route"));
        assert_eq!(
            target, function,
            "{pattern} belongs to {function}, but the template sends it ({route}) to {target}"
        );
        reached
            .entry(route.as_str())
            .or_default()
            .push((function.clone(), pattern.clone()));
    }

    // Every template route leads to at least one handler route, and the router answers each.
    let env = TestEnv::new().await;
    let (_, key) = env.webhook(json!({"title": "Template routes"})).await;
    // A route the admin router has answers a method it does not serve with 405; a path it does
    // not have gets the 404 fallback (GET alone cannot tell: `/admin/ui/{file}` 404s unknown files).
    let no_route = env.admin("TRACE", "/admin/__no_such_route__/x", None).await;
    assert_eq!(no_route.status, 404, "{}", no_route.text);
    for (route, function) in &routes {
        let targets = reached.get(route.as_str()).cloned().unwrap_or_default();
        assert!(
            !targets.is_empty(),
            "template route {route} ({function}) leads to no route of the {function} router"
        );
        for (f, pattern) in targets {
            let path = concrete(&pattern, &key);
            if f == "incoming" {
                let r = env
                    .incoming(
                        "POST",
                        &incoming_call(&path, &key),
                        vec![("content-type", "application/x-www-form-urlencoded")],
                        b"email=route%40example.com".to_vec(),
                    )
                    .await;
                assert_eq!(r.status, 200, "{route} -> POST {path}: {}", r.text);
            } else {
                let r = env.admin("TRACE", &path, None).await;
                assert_eq!(
                    r.status, 405,
                    "{route} -> {path}: the admin router has no such route ({})",
                    r.text
                );
                let r = env.admin("GET", &path, None).await;
                assert!(
                    r.status < 500,
                    "{route} -> GET {path}: {} {}",
                    r.status,
                    r.text
                );
            }
        }
    }
}

// ------------------------------------------------------------------ configuration ---------

/// Variables only some functions need (any other variable is needed by all of them).
const ONLY: &[(&str, &[&str])] = &[
    ("ADMIN_USER", &["admin"]),
    ("ADMIN_PASSWORD_HASH", &["admin"]),
    ("PUBLIC_BASE_URL", &["admin"]),
    ("MAIL_FROM", &["incoming", "dispatch", "sweeper"]),
    ("SITE_NAME", &["incoming", "dispatch", "sweeper"]),
    ("OPERATOR_EMAIL", &["dispatch"]),
    ("ADMIN_UI_URL", &["dispatch"]),
    ("FIFO_SETTLE_MS", &["dispatch"]),
    ("FAST_LANE_MS", &["dispatch"]),
    ("PORTAL_URL", &["incoming", "sweeper"]),
    ("WELCOME_EMAIL_SUBJECT", &["incoming", "sweeper"]),
    ("DEFAULT_ROLE", &["incoming"]),
    ("COURSE_MODULE_ENABLED", &["incoming"]),
    ("MAX_BODY_BYTES", &["incoming"]),
    ("RATE_LIMIT_PER_MINUTE", &["incoming"]),
    ("OUTBOX_GRACE_SECONDS", &["sweeper"]),
    ("DELIVERY_TIMEOUT_SECONDS", &["admin", "dispatch"]),
    ("DISPATCH_CONCURRENCY", &["dispatch"]),
];

/// Read by the code but never set when deployed: the clear admin password is for local use.
const NEVER: &[&str] = &["ADMIN_PASSWORD"];

/// Set by the template although `config.rs` does not read them (the log filter).
const EXTRA: &[&str] = &["RUST_LOG"];

fn config_variables() -> BTreeSet<String> {
    switchboard::config::VARIABLES
        .iter()
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn template_sets_every_variable_the_functions_read() {
    let template = Template::load();
    let envs = template.environments();
    let functions: BTreeSet<String> = envs.keys().cloned().collect();
    assert_eq!(
        functions,
        ["admin", "dispatch", "incoming", "relay", "sweeper"]
            .map(String::from)
            .into(),
        "the template's functions"
    );
    let vars = config_variables();
    assert!(vars.len() >= 17, "config.rs variables: {vars:?}");
    for var in &vars {
        let having: BTreeSet<String> = envs
            .iter()
            .filter(|(_, e)| e.contains_key(var))
            .map(|(f, _)| f.clone())
            .collect();
        let wanted: BTreeSet<String> = if NEVER.contains(&var.as_str()) {
            BTreeSet::new()
        } else {
            ONLY.iter()
                .find(|(v, _)| v == var)
                .map(|(_, fs)| fs.iter().map(|f| f.to_string()).collect())
                .unwrap_or_else(|| functions.clone())
        };
        assert_eq!(having, wanted, "functions whose environment sets {var}");
    }
    for (function, env) in &envs {
        for name in env.keys() {
            assert!(
                vars.contains(name) || EXTRA.contains(&name.as_str()),
                "{function} sets {name}, which config.rs does not read"
            );
        }
        assert_eq!(
            env.get("LOCAL_MODE").map(String::as_str),
            Some("false"),
            "{function}: LOCAL_MODE must be false when deployed"
        );
    }
    let base = &envs["admin"]["PUBLIC_BASE_URL"];
    assert!(
        base.starts_with("!If") || base.starts_with("!Sub"),
        "{base}"
    );
    let base_node = template
        .resource("AdminFunction")
        .at(&["Properties", "Environment", "Variables", "PUBLIC_BASE_URL"])
        .expect("admin PUBLIC_BASE_URL");
    assert!(
        base_node
            .texts()
            .contains(&"!Sub https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"),
        "PUBLIC_BASE_URL is built from the HTTP API's id and region"
    );
    let hash = template
        .doc
        .at(&["Parameters", "AdminPasswordHash"])
        .expect("AdminPasswordHash parameter");
    assert_eq!(hash.value_at(&["NoEcho"]).as_deref(), Some("true"));
    assert!(
        hash.get("Default").is_none(),
        "the admin hash has no default"
    );
}

// ------------------------------------------------------------------ resources -------------

#[test]
fn functions_table_and_queue_agree_with_the_code() {
    let t = Template::load();
    for (bin, f) in t.functions() {
        let props = f.get("Properties").expect("Properties");
        assert_eq!(
            f.value_at(&["Metadata", "BuildMethod"]).as_deref(),
            Some("rust-cargolambda"),
            "{bin}"
        );
        let code_uri = props.value_at(&["CodeUri"]).expect("CodeUri");
        let manifest = read(&format!(
            "infra/{}/Cargo.toml",
            code_uri.trim_end_matches('/')
        ));
        assert!(
            manifest.contains(&format!("name = \"{bin}\"")),
            "{code_uri} builds the {bin} binary"
        );
        let runtime = props
            .value_at(&["Runtime"])
            .or_else(|| t.doc.value_at(&["Globals", "Function", "Runtime"]));
        assert_eq!(runtime.as_deref(), Some("provided.al2023"), "{bin}");
        let arch = props
            .get("Architectures")
            .or_else(|| t.doc.at(&["Globals", "Function", "Architectures"]))
            .map(Node::scalars);
        assert_eq!(arch, Some(vec!["arm64".to_string()]), "{bin}");
        for key in ["MemorySize", "Timeout"] {
            assert!(
                props.get(key).is_some(),
                "{bin}: {key} is chosen explicitly"
            );
        }
        assert!(
            props.value_at(&["Role"]).is_some(),
            "{bin}: its own least-privilege role"
        );
    }

    // The table the store expects: keys, the one index, TTL.
    let table = t.resource("Table");
    let p = table.get("Properties").expect("table properties");
    assert_eq!(
        p.value_at(&["BillingMode"]).as_deref(),
        Some("PAY_PER_REQUEST")
    );
    let keys: Vec<(String, String)> = p
        .get("KeySchema")
        .expect("KeySchema")
        .items()
        .map(|i| {
            (
                i.value_at(&["AttributeName"]).unwrap_or_default(),
                i.value_at(&["KeyType"]).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
    );
    let indexes: Vec<String> = p
        .get("GlobalSecondaryIndexes")
        .expect("GSIs")
        .items()
        .filter_map(|i| i.value_at(&["IndexName"]))
        .collect();
    assert_eq!(
        indexes,
        [
            switchboard::store::GSI1.to_string(),
            switchboard::store::GSI2.to_string()
        ]
    );
    assert_eq!(
        p.value_at(&["TimeToLiveSpecification", "AttributeName"])
            .as_deref(),
        Some("expires_at")
    );
    assert_eq!(
        p.value_at(&[
            "PointInTimeRecoverySpecification",
            "PointInTimeRecoveryEnabled"
        ])
        .as_deref(),
        Some("true")
    );

    // Queue and dispatch: visibility >= 6x the timeout, which covers the send timeout.
    let dispatch = t.resource("DispatchFunction").key.clone();
    let timeout = t.number(&dispatch, &["Properties", "Timeout"]);
    let visibility = t.number("EventQueue", &["Properties", "VisibilityTimeout"]);
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} < 6 x {timeout}"
    );
    assert_eq!(
        t.number(
            "EventQueue",
            &["Properties", "RedrivePolicy", "maxReceiveCount"]
        ),
        5
    );
    let envs = t.environments();
    let send: i64 = envs["dispatch"]["DELIVERY_TIMEOUT_SECONDS"]
        .parse()
        .expect("number");
    assert!(
        send >= 30,
        "a delivery may take 30 s (docs/reference/outgoing.md)"
    );
    assert!(
        timeout >= 2 * send + 30,
        "dispatch timeout {timeout} vs {send} s sends"
    );
    let admin_send: i64 = envs["admin"]["DELIVERY_TIMEOUT_SECONDS"]
        .parse()
        .expect("number");
    let admin_timeout = t.number("AdminFunction", &["Properties", "Timeout"]);
    assert!(
        admin_send < 30 && admin_send < admin_timeout && admin_timeout <= 30,
        "admin sends must end before API Gateway's 30 s"
    );
    let dp = t.resource(&dispatch).get("Properties").expect("props");
    assert_eq!(dp.value_at(&["RecursiveLoop"]).as_deref(), Some("Allow"));
    let sqs = dp
        .get("Events")
        .and_then(|e| {
            e.children
                .iter()
                .find(|c| c.value_at(&["Type"]).as_deref() == Some("SQS"))
        })
        .expect("dispatch is triggered by SQS");
    assert_eq!(
        sqs.value_at(&["Properties", "Queue"]).as_deref(),
        Some("!GetAtt EventQueue.Arn")
    );
    assert_eq!(
        sqs.at(&["Properties", "FunctionResponseTypes"])
            .map(Node::scalars),
        Some(vec!["ReportBatchItemFailures".to_string()])
    );
    let schedule = t
        .resource("SweeperFunction")
        .at(&["Properties", "Events"])
        .and_then(|e| e.children.first())
        .expect("sweeper event");
    assert_eq!(schedule.value_at(&["Type"]).as_deref(), Some("Schedule"));
    assert_eq!(
        schedule.value_at(&["Properties", "Schedule"]).as_deref(),
        Some("rate(1 minute)")
    );
    let settings = t
        .resource("ApiStage")
        .at(&["Properties", "RouteSettings"])
        .expect("per-route settings");
    for (route, function) in t.routes() {
        if function == "incoming" {
            for limit in ["ThrottlingRateLimit", "ThrottlingBurstLimit"] {
                assert!(
                    settings.at(&[route.as_str(), limit]).is_some(),
                    "incoming route {route} has its own {limit}"
                );
            }
        }
    }
    for alarm in [
        "DeadLetterQueueAlarm",
        "IncomingErrorsAlarm",
        "DispatchErrorsAlarm",
    ] {
        t.resource(alarm);
    }
    for output in ["ApiBaseUrl", "AdminUiUrl", "AdminApiUrl"] {
        assert!(t.doc.at(&["Outputs", output]).is_some(), "output {output}");
    }
}

/// AWS SDK calls of the library and the IAM actions they need.
const SDK_ACTIONS: &[(&str, &[&str])] = &[
    (".get_item()", &["dynamodb:GetItem"]),
    (".generate_data_key()", &["kms:GenerateDataKey"]),
    (".decrypt()", &["kms:Decrypt"]),
    (".batch_get_item()", &["dynamodb:BatchGetItem"]),
    (".transact_get_items()", &["dynamodb:GetItem"]),
    (".query()", &["dynamodb:Query"]),
    (".scan()", &["dynamodb:Scan"]),
    (".put_item()", &["dynamodb:PutItem"]),
    (".update_item()", &["dynamodb:UpdateItem"]),
    (".delete_item()", &["dynamodb:DeleteItem"]),
    (".batch_write_item()", &["dynamodb:BatchWriteItem"]),
    (
        ".transact_write_items()",
        &[
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:ConditionCheckItem",
        ],
    ),
    (".send_message()", &["sqs:SendMessage"]),
    (".send_message_batch()", &["sqs:SendMessage"]),
    (".send_email()", &["ses:SendEmail"]),
    (".send_raw_email()", &["ses:SendRawEmail"]),
];

#[test]
fn iam_grants_what_the_code_calls_and_no_wildcards() {
    let t = Template::load();
    let mut files = Vec::new();
    collect_rs(&root().join("shared/src"), &mut files);
    collect_rs(&root().join("functions"), &mut files);
    let code: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    let nodes = t.doc.walk();
    let granted: BTreeSet<String> = nodes
        .iter()
        .filter(|n| n.key == "Action")
        .flat_map(|n| n.scalars())
        .collect();
    for (call, actions) in SDK_ACTIONS {
        if code.contains(call) {
            for action in *actions {
                assert!(
                    granted.contains(*action),
                    "the code calls {call}, which needs {action}"
                );
            }
        }
    }
    for action in &granted {
        assert!(!action.contains('*'), "wildcard action: {action}");
    }
    for resource in nodes.iter().filter(|n| n.key == "Resource") {
        for r in resource.scalars() {
            assert_ne!(r.trim(), "*", "wildcard resource in {:?}", resource);
        }
    }
    assert!(
        nodes
            .iter()
            .all(|n| !n.value.contains("arn:aws:iam::aws:policy")
                && !n.value.contains(":iam::aws:policy/")),
        "no AWS managed policies (their resources are \"*\")"
    );
}

/// The secrets key (docs/reference/security.md#secrets-at-rest): rotated, behind an alias, and each
/// role may only make the KMS calls its function makes — only `admin` writes secrets, so only it
/// seals (GenerateDataKey).
#[test]
fn secrets_are_sealed_with_a_rotated_key_and_only_admin_seals() {
    let t = Template::load();
    let key = t.resource("SecretsKey");
    assert_eq!(key.value_at(&["Type"]).as_deref(), Some("AWS::KMS::Key"));
    assert_eq!(
        key.value_at(&["Properties", "EnableKeyRotation"])
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        t.resource("SecretsKeyAlias").value_at(&["Type"]).as_deref(),
        Some("AWS::KMS::Alias")
    );
    for (role, expected) in [
        ("IncomingRole", &["kms:Decrypt"][..]),
        ("AdminRole", &["kms:Decrypt", "kms:GenerateDataKey"][..]),
        ("DispatchRole", &["kms:Decrypt"][..]),
        ("SweeperRole", &["kms:Decrypt"][..]),
    ] {
        let granted: BTreeSet<String> = t
            .resource(role)
            .walk()
            .iter()
            .filter(|n| n.key == "Action")
            .flat_map(|n| n.scalars())
            .filter(|a| a.starts_with("kms:"))
            .collect();
        let expected: BTreeSet<String> = expected.iter().map(|a| a.to_string()).collect();
        assert_eq!(granted, expected, "{role}");
    }
}

/// The table actions a role's statements grant on the table or its indexes (the stream's reads
/// are not table calls).
const TABLE_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
];

/// The `dynamodb:LeadingKeys` patterns of a role: every statement granting a table action must
/// carry a `ForAllValues:StringLike` condition on them (a statement without one is a failure).
fn leading_keys(t: &Template, role: &str) -> BTreeSet<String> {
    let policies = t
        .resource(role)
        .at(&["Properties", "Policies"])
        .unwrap_or_else(|| panic!("{role} has inline policies"));
    assert!(
        t.resource(role)
            .at(&["Properties", "ManagedPolicyArns"])
            .is_none(),
        "{role}: no managed policies (the table is granted per partition)"
    );
    let mut keys = BTreeSet::new();
    for policy in policies.items() {
        let statements = policy
            .at(&["PolicyDocument", "Statement"])
            .expect("statements");
        for st in statements.items() {
            let actions = st.get("Action").map(Node::scalars).unwrap_or_default();
            if !actions.iter().any(|a| TABLE_ACTIONS.contains(&a.as_str())) {
                continue;
            }
            let sid = st.value_at(&["Sid"]).unwrap_or_default();
            assert!(
                !actions.iter().any(|a| a == "dynamodb:Scan"),
                "{role} {sid}: a Scan has no leading key"
            );
            let patterns = st
                .at(&[
                    "Condition",
                    "ForAllValues:StringLike",
                    "dynamodb:LeadingKeys",
                ])
                .unwrap_or_else(|| {
                    panic!("{role} {sid}: table actions without a LeadingKeys condition")
                })
                .scalars();
            assert!(!patterns.is_empty(), "{role} {sid}: empty LeadingKeys");
            keys.extend(patterns);
        }
    }
    keys
}

/// Least privilege (docs/operations.md#iam): each function's role reaches only the partitions
/// its code builds, and the lists are the library's (`store::keys::PARTITIONS`), so the template
/// and the code cannot drift.
#[test]
fn each_role_reaches_only_the_partitions_its_function_builds() {
    use switchboard::store::keys;
    let t = Template::load();
    let roles = [
        ("incoming", "IncomingRole"),
        ("admin", "AdminRole"),
        ("dispatch", "DispatchRole"),
        ("sweeper", "SweeperRole"),
        ("relay", "RelayRole"),
    ];
    let functions: BTreeSet<&str> = keys::PARTITIONS.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        functions,
        roles.iter().map(|(f, _)| *f).collect::<BTreeSet<_>>(),
        "PARTITIONS names every function, and only those"
    );
    for (function, role) in roles {
        let expected: BTreeSet<String> = keys::partitions_of(function)
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(leading_keys(&t, role), expected, "{role} vs PARTITIONS");
    }
    // The internet-facing function cannot touch application passwords, sign-in counts, the
    // outgoing side (endpoints, their deliveries, lines, throttles, recover jobs), publishes,
    // notices or erasure jobs — judged on the template's own patterns.
    let incoming = leading_keys(&t, "IncomingRole");
    for pk in [
        keys::APP_PASSWORDS.to_string(),
        keys::app_password_name("ci"),
        keys::signin("203.0.113.9"),
        keys::WEBHOOK.to_string(),
        keys::deliveries(1),
        keys::deliveries_by_status(1, switchboard::domain::delivery::DeliveryStatus::Pending),
        keys::line(1),
        keys::rate(1),
        keys::recover_jobs(1),
        keys::publish("x"),
        keys::notice("x"),
        keys::erasure("x"),
        keys::erasure_of_user(1),
    ] {
        assert!(
            !incoming.iter().any(|p| keys::like(p, &pk)),
            "incoming can touch {pk}"
        );
    }
    // And it still reaches what a call needs.
    for pk in [
        keys::webhook_key("k"),
        keys::IWH.to_string(),
        keys::runs(1),
        keys::member("a@example.com"),
        keys::outbox(0),
    ] {
        assert!(
            incoming.iter().any(|p| keys::like(p, &pk)),
            "incoming cannot touch {pk}"
        );
    }
}

/// Item 10: an optional per-source-IP rate rule (default on). WAF cannot attach to an HTTP API,
/// so the WebACL is CLOUDFRONT-scope on a distribution in front of the API.
#[test]
fn an_optional_waf_rate_rule_per_source_ip_fronts_the_api() {
    let t = Template::load();
    assert_eq!(
        t.doc
            .value_at(&["Parameters", "IncomingWaf", "Default"])
            .as_deref(),
        Some("true")
    );
    let acl = t.resource("IncomingWebAcl");
    assert_eq!(
        acl.value_at(&["Condition"]).as_deref(),
        Some("HasIncomingWaf")
    );
    assert_eq!(
        acl.value_at(&["Properties", "Scope"]).as_deref(),
        Some("CLOUDFRONT")
    );
    let rule = acl
        .at(&["Properties", "Rules"])
        .and_then(|r| r.items().next())
        .expect("a rule");
    assert_eq!(
        rule.value_at(&["Statement", "RateBasedStatement", "AggregateKeyType"])
            .as_deref(),
        Some("IP")
    );
    assert!(rule.at(&["Action", "Block"]).is_some());
    let edge = t.resource("EdgeDistribution");
    assert_eq!(
        edge.value_at(&["Condition"]).as_deref(),
        Some("HasIncomingWaf")
    );
    assert_eq!(
        edge.value_at(&["Properties", "DistributionConfig", "WebACLId"])
            .as_deref(),
        Some("!GetAtt IncomingWebAcl.Arn")
    );
}

// ------------------------------------------------------------------ sample events ---------

const KEY_PLACEHOLDER: &str = "REPLACE_WITH_WEBHOOK_KEY";

async fn answer(router: &Router, event: &str) -> (u16, String) {
    let req = lambda_http::request::from_str(event)
        .unwrap_or_else(|e| panic!("not an API Gateway v2 event: {e}"));
    let r = switchboard_tests::send(router, req).await;
    (r.status, r.text)
}

fn event_files() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(root().join("events"))
        .expect("events/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let text = std::fs::read_to_string(&p).expect("event");
            (name, text)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn every_sample_event_is_answered_by_its_function() {
    let template = Template::load();
    let routes = template.routes();
    let files = event_files();
    let env = TestEnv::new().await;
    let space = env.make("spaces", "Premium Members").await;
    let (_, key) = env
        .webhook(json!({"title": "Sample events", "space_ids": [space]}))
        .await;
    let no_route = env.admin("GET", "/admin/__no_such_route__/x", None).await;
    // Dispatch and sweeper events run on a stack without the endpoints the admin events create,
    // so that nothing is delivered to the sample URLs.
    let quiet = TestEnv::new().await;
    let mut seen = BTreeSet::new();

    for (name, text) in &files {
        let function = name.split('-').next().unwrap_or_default();
        let value: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        match function {
            "incoming" | "admin" => {
                // The event's route is the one API Gateway would pick, to the right function.
                let path = value["rawPath"].as_str().expect("rawPath");
                let (route, target) = best_route(&routes, path).expect("a route");
                assert_eq!(value["routeKey"], route.as_str(), "{name}: routeKey");
                assert_eq!(
                    value["requestContext"]["routeKey"],
                    route.as_str(),
                    "{name}"
                );
                assert_eq!(
                    target, function,
                    "{name}: the template sends {path} to {target}"
                );
                let router = if function == "incoming" {
                    &env.incoming
                } else {
                    &env.admin
                };
                let (status, body) = answer(router, &text.replace(KEY_PLACEHOLDER, &key)).await;
                assert!(status < 500, "{name}: {status} {body}");
                if function == "incoming" {
                    let want = if name.contains("unknown-key") {
                        404
                    } else {
                        200
                    };
                    assert_eq!(status, want, "{name}: {body}");
                    if want == 200 {
                        let b: Value = serde_json::from_str(&body).expect("JSON");
                        assert_eq!(b["success"], true, "{name}: {body}");
                        assert_eq!(b["spaces"]["skipped"], json!([]), "{name}: {body}");
                    }
                    // As shipped (placeholder key) the call is a clean 404, not an error.
                    let (s, _) = answer(router, text).await;
                    assert!(s == 404 || name.contains("unknown-key"), "{name}: {s}");
                } else if name.contains("unauthorized") {
                    assert_eq!(status, 401, "{name}: {body}");
                } else {
                    let b: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    assert!(
                        (status, &b) != (no_route.status, &no_route.body),
                        "{name}: the admin router has no such route: {body}"
                    );
                    if name.starts_with("admin-create-") && !name.contains("create-webhook") {
                        assert_eq!(status, 201, "{name}: {body}");
                    }
                }
            }
            "dispatch" => {
                let event: SqsEvent = serde_json::from_value(value)
                    .unwrap_or_else(|e| panic!("{name}: not an SQS event: {e}"));
                assert!(!event.records.is_empty(), "{name}: no records");
                // As the batches are on their way: committed to the outbox, then handled by
                // the library's SQS batch handler (what the dispatch binary runs), then gone.
                let store = &quiet.app.store_for_tests();
                let mut batches = Vec::new();
                for record in &event.records {
                    assert!(
                        record.message_id.is_some(),
                        "{name}: messageId (partial failures)"
                    );
                    let body = record.body.as_deref().expect("body");
                    let batch: EventBatch = serde_json::from_str(body).expect("an outbox batch");
                    let tx = store
                        .outbox
                        .commit(Vec::<((), _)>::new(), std::slice::from_ref(&batch), ())
                        .await
                        .expect("commit");
                    assert!(tx.is_ok());
                    assert!(store
                        .outbox
                        .contains(batch.shard, &batch.batch_id)
                        .await
                        .expect("outbox"));
                    batches.push(batch);
                }
                let response =
                    switchboard::transport::sqs::handle(quiet.app.deliveries(), &event, None).await;
                assert!(
                    response.batch_item_failures.is_empty(),
                    "{name}: {:?}",
                    response.batch_item_failures
                );
                for batch in batches {
                    let left = store
                        .outbox
                        .contains(batch.shard, &batch.batch_id)
                        .await
                        .expect("outbox");
                    assert!(
                        !left,
                        "{name}: batch {} still in the outbox",
                        batch.batch_id
                    );
                }
            }
            "relay" => {
                let event: aws_lambda_events::event::dynamodb::Event =
                    serde_json::from_value(value)
                        .unwrap_or_else(|e| panic!("{name}: not a DynamoDB Stream event: {e}"));
                assert!(!event.records.is_empty(), "{name}: no records");
                let response =
                    switchboard::transport::stream::handle(quiet.app.relay(), &event).await;
                assert!(
                    response.batch_item_failures.is_empty(),
                    "{name}: {:?}",
                    response.batch_item_failures
                );
                let queued = quiet.stack.drain_queue(&quiet.stack.queue_url).await;
                assert_eq!(
                    queued.len(),
                    event.records.len(),
                    "{name}: one message per batch"
                );
            }
            "sweeper" => {
                let event: EventBridgeEvent<Value> = serde_json::from_value(value)
                    .unwrap_or_else(|e| panic!("{name}: not a scheduled event: {e}"));
                assert_eq!(event.detail_type, "Scheduled Event");
                assert_eq!(event.source, "aws.events");
                quiet.app.outbox().sweep().await.expect("sweep");
            }
            other => panic!("{name}: no function named {other:?} (name events <function>-...)"),
        }
        seen.insert(function.to_string());
    }
    for f in ["incoming", "admin", "dispatch", "relay", "sweeper"] {
        assert!(seen.contains(f), "no sample event for {f}");
    }
}

#[tokio::test]
async fn the_sweeper_resends_what_the_sample_batch_left_in_the_outbox() {
    let env = TestEnv::new().await;
    let event: SqsEvent =
        serde_json::from_str(&read("events/dispatch-sqs-batch.json")).expect("SQS event");
    let body = event.records[0].body.clone().unwrap_or_default();
    let batch: EventBatch = serde_json::from_str(&body).expect("batch");
    assert!(env
        .app
        .store_for_tests()
        .outbox
        .commit(Vec::<((), _)>::new(), std::slice::from_ref(&batch), ())
        .await
        .expect("commit")
        .is_ok());
    // The sample batch id is from 2024, far beyond the grace period.
    assert_eq!(env.app.outbox().sweep().await.expect("sweep"), 1);
    // What the sweeper sent (the relay is not played here: it would send the batch as well).
    let queued = env.stack.drain_queue(&env.stack.queue_url).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["batch_id"], batch.batch_id.as_str());
}

// ------------------------------------------------------------------ the YAML view itself --

#[test]
fn the_yaml_view_keeps_cloudformation_tags() {
    let doc = parse_yaml(
        "A:\n  B: !Ref C # a comment\n  L:\n    - x\n    - \"y\"\n  M:\n    - K: 1\n      V: two\n  S: >-\n    long: text\n    more\n  'Q w': 3\n  G: !GetAtt Table.Arn\n  U: !Sub \"${Table.Arn}/index/gsi1\"\n  I: !If\n    - Cond\n    - !Sub \"https://${D}\"\n    - no\n  T: true\nZ: end\n",
    );
    assert_eq!(doc.value_at(&["A", "B"]).as_deref(), Some("!Ref C"));
    assert_eq!(
        doc.at(&["A", "L"]).map(Node::scalars),
        Some(vec!["x".into(), "y".into()])
    );
    let m: Vec<_> = doc.at(&["A", "M"]).expect("M").items().collect();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value_at(&["K"]).as_deref(), Some("1"));
    assert_eq!(m[0].value_at(&["V"]).as_deref(), Some("two"));
    assert_eq!(
        doc.value_at(&["A", "S"]).as_deref(),
        Some("long: text more")
    );
    assert_eq!(doc.value_at(&["A", "Q w"]).as_deref(), Some("3"));
    assert_eq!(
        doc.value_at(&["A", "G"]).as_deref(),
        Some("!GetAtt Table.Arn")
    );
    assert_eq!(
        doc.value_at(&["A", "U"]).as_deref(),
        Some("!Sub ${Table.Arn}/index/gsi1")
    );
    let cond = doc.at(&["A", "I"]).expect("I");
    assert_eq!(cond.value, "!If");
    assert_eq!(
        cond.scalars(),
        vec!["Cond".to_string(), "!Sub https://${D}".into(), "no".into()]
    );
    assert_eq!(doc.value_at(&["A", "T"]).as_deref(), Some("true"));
    assert_eq!(doc.value_at(&["Z"]).as_deref(), Some("end"));
    assert!(route_matches(
        "ANY /admin/{proxy+}",
        "/admin/webhooks/1/test"
    ));
    assert!(!route_matches("ANY /admin/{proxy+}", "/admin"));
    assert!(!route_matches("ANY /portal", "/portal/"));
    assert!(route_matches("ANY /webhook/{key}", "/webhook/abc"));
    assert!(!route_matches("ANY /webhook/{key}", "/webhook/abc/def"));
}
