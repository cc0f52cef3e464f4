//! The local AWS resources (table, queues, SES identity), created idempotently on whatever
//! `AWS_ENDPOINT_URL` points at. Shared by the tests and by `make dev` (`local setup`).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use switchboard::config::Config;

/// SDK configuration for the emulator: `AWS_ENDPOINT_URL` (default `http://127.0.0.1:4566`),
/// region `us-east-1` and dummy credentials unless the environment has real ones.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ));
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ));
    }
    loader.load().await
}

/// Names of one set of resources.
#[derive(Clone, Debug)]
pub struct Stack {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    /// The slow lane (retries, FIFO lines, recover jobs, first attempts beyond the fast lane).
    pub slow_queue_url: String,
    pub mail_from: String,
    pub endpoint: String,
    /// The KMS key sealing stored secrets (`SECRETS_KEY_ID`), behind alias `alias/{name}-secrets`.
    pub secrets_key_id: String,
    /// The table's DynamoDB Stream (`NEW_IMAGE`), which `relay` reads.
    pub stream_arn: String,
}

static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Stack {
    /// A uniquely named stack (tests run in parallel against one emulator and never reset it).
    pub async fn create() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("t{}-{}-{seq}", std::process::id(), nanos % 1_000_000_000);
        Self::ensure(&name, "no-reply@switchboard.local")
            .await
            .expect("local stack")
    }

    /// Creates (or finds) table `name`, queues `name-events` and `name-events-dlq`, and verifies
    /// the sender identity.
    pub async fn ensure(name: &str, mail_from: &str) -> Result<Self, String> {
        let sdk = sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let ses = aws_sdk_ses::Client::new(&sdk);
        create_table(&ddb, name).await?;
        let stream_arn = ensure_stream(&ddb, name).await?;
        let dlq_url = create_queue(&sqs, &format!("{name}-events-dlq"), None).await?;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#);
        let queue_url =
            create_queue(&sqs, &format!("{name}-events"), Some(redrive.clone())).await?;
        let slow_queue_url = create_queue(&sqs, &format!("{name}-slow"), Some(redrive)).await?;
        ses.verify_email_identity()
            .email_address(mail_from)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_ses::error::DisplayErrorContext(e)))?;
        let secrets_key_id = ensure_key(&aws_sdk_kms::Client::new(&sdk), name).await?;
        Ok(Self {
            table: name.to_string(),
            queue_url,
            dlq_url,
            slow_queue_url,
            mail_from: mail_from.to_string(),
            endpoint: std::env::var("AWS_ENDPOINT_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:4566".into()),
            secrets_key_id,
            stream_arn,
        })
    }

    /// Configuration for an app over this stack (local mode on).
    pub fn config(&self) -> Config {
        Config {
            table_name: self.table.clone(),
            queue_url: self.queue_url.clone(),
            mail_from: self.mail_from.clone(),
            local_mode: true,
            public_base_url: "http://127.0.0.1:9000/lambda-url/incoming".into(),
            operator_email: Some("operator@example.com".into()),
            slow_queue_url: Some(self.slow_queue_url.clone()),
            sealing_key_id: Some(self.secrets_key_id.clone()),
            ..Config::defaults()
        }
    }

    /// Receives every visible message of a queue, then makes them all visible again.
    pub async fn drain_queue(&self, url: &str) -> Vec<Value> {
        let sdk = sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let mut out = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..100 {
            let r = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .send()
                .await
                .expect("receive");
            let msgs = r.messages.unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                handles.extend(m.receipt_handle().map(str::to_string));
                out.push(serde_json::from_str(m.body().unwrap_or("null")).unwrap_or(Value::Null));
            }
        }
        for h in handles {
            let _ = sqs
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(h)
                .visibility_timeout(0)
                .send()
                .await;
        }
        out
    }

    /// Loses every visible message of a queue (received and deleted unread, as a message
    /// dead-lettered or dropped); returns how many.
    pub async fn lose_queue(&self, url: &str) -> usize {
        let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
        let mut lost = 0;
        loop {
            let r = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let msgs = r.messages.unwrap_or_default();
            if msgs.is_empty() {
                return lost;
            }
            for m in msgs {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
                lost += 1;
            }
        }
    }

    /// The emails moto recorded as sent (all accounts, so filter by recipient).
    pub async fn sent_mail(&self) -> Vec<Value> {
        let url = format!("{}/moto-api/data.json", self.endpoint.trim_end_matches('/'));
        // moto builds this dump by walking every backend while other requests change them,
        // and then answers 500 ("changed size during iteration"): ask again.
        let mut data = Value::Null;
        for _ in 0..10 {
            data = match reqwest::get(&url).await {
                Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
                _ => Value::Null,
            };
            if data["ses"].is_object() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mut out = Vec::new();
        for key in ["Message", "RawMessage"] {
            if let Some(list) = data["ses"][key].as_array() {
                out.extend(list.iter().cloned());
            }
        }
        out
    }
}

/// The secrets key of stack `name`: found by its alias, or created with it (idempotent).
async fn ensure_key(kms: &aws_sdk_kms::Client, name: &str) -> Result<String, String> {
    let alias = format!("alias/{name}-secrets");
    let err = |e: &dyn std::fmt::Display| format!("KMS: {e}");
    if let Ok(found) = kms.describe_key().key_id(&alias).send().await {
        if let Some(id) = found.key_metadata.map(|m| m.key_id) {
            return Ok(id);
        }
    }
    let key = kms
        .create_key()
        .description(format!("switchboard {name}: stored secrets"))
        .send()
        .await
        .map_err(|e| err(&aws_sdk_kms::error::DisplayErrorContext(e)))?;
    let id = key
        .key_metadata
        .map(|m| m.key_id)
        .ok_or_else(|| "KMS CreateKey returned no key".to_string())?;
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&id)
        .send()
        .await
        .map_err(|e| err(&aws_sdk_kms::error::DisplayErrorContext(e)))?;
    Ok(id)
}

async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), String> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| e.to_string())
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| e.to_string())
    };
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(switchboard::store::GSI1)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let gsi2 = GlobalSecondaryIndex::builder()
        .index_name(switchboard::store::GSI2)
        .key_schema(key("gsi2pk", KeyType::Hash)?)
        .key_schema(key("gsi2sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let created = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .attribute_definitions(attr("gsi2pk")?)
        .attribute_definitions(attr("gsi2sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .global_secondary_indexes(gsi2)
        .stream_specification(new_image_stream()?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(())
        }
        Err(e) => {
            return Err(format!(
                "{}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ))
        }
    }
    ddb.update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    Ok(())
}

fn new_image_stream() -> Result<StreamSpecification, String> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewImage)
        .build()
        .map_err(|e| e.to_string())
}

/// The table's stream ARN, enabling the stream on a table created before it had one.
async fn ensure_stream(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let described = ddb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    if let Some(arn) = described.table().and_then(|t| t.latest_stream_arn()) {
        if described
            .table()
            .and_then(|t| t.stream_specification())
            .is_some_and(|s| s.stream_enabled())
        {
            return Ok(arn.to_string());
        }
    }
    let updated = ddb
        .update_table()
        .table_name(name)
        .stream_specification(new_image_stream()?)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    updated
        .table_description()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_string)
        .ok_or_else(|| err(&"the table has no stream"))
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive: Option<String>,
) -> Result<String, String> {
    let mut req = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "60");
    if let Some(r) = redrive {
        req = req.attributes(QueueAttributeName::RedrivePolicy, r);
    }
    let out = req
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(out.queue_url.unwrap_or_default())
}
