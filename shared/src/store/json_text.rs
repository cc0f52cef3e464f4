//! A nested value stored as one string attribute holding its JSON (`#[serde(with =
//! "json_text")]`), for items that are written and read whole and never queried inside.
//!
//! A DynamoDB map costs one attribute value per field, each typed, sized and parsed on both
//! sides: a delivery record with one attempt is ~35 of them, and writing 1,000 deliveries is
//! 35,000 nodes for the SDK to serialize and the table to parse. As one string it is one. Items
//! stored before as maps still read (the value is accepted in either shape).

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(value).map_err(S::Error::custom)?;
    serializer.serialize_str(&text)
}

/// The attribute value a field marked `json_text` is stored as (for update expressions).
pub fn attribute<T: Serialize>(
    value: &T,
) -> crate::error::Result<aws_sdk_dynamodb::types::AttributeValue> {
    serde_json::to_string(value)
        .map(aws_sdk_dynamodb::types::AttributeValue::S)
        .map_err(crate::error::Error::dep)
}

pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored<T> {
        Text(String),
        Map(T),
    }
    match Stored::<T>::deserialize(deserializer)? {
        Stored::Text(text) => serde_json::from_str(&text).map_err(D::Error::custom),
        Stored::Map(value) => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use crate::store::{from_item, to_item};

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Inner {
        name: String,
        count: u64,
        tags: Vec<String>,
        maybe: Option<i64>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Text {
        pk: String,
        #[serde(with = "super")]
        data: Inner,
    }

    #[derive(Serialize, Deserialize)]
    struct Map {
        pk: String,
        data: Inner,
    }

    fn inner() -> Inner {
        Inner {
            name: "a \"quoted\" name\u{1}".into(),
            count: 7,
            tags: vec!["x".into()],
            maybe: None,
        }
    }

    #[test]
    fn stored_as_one_string_and_read_back() {
        let item = to_item(&Text {
            pk: "k".into(),
            data: inner(),
        })
        .unwrap();
        let text = item["data"].as_s().unwrap();
        assert_eq!(serde_json::from_str::<Inner>(text).unwrap(), inner());
        assert_eq!(&super::attribute(&inner()).unwrap(), &item["data"]);
        let back: Text = from_item(item).unwrap();
        assert_eq!(back.data, inner());
    }

    #[test]
    fn items_stored_as_maps_still_read() {
        let item = to_item(&Map {
            pk: "k".into(),
            data: inner(),
        })
        .unwrap();
        assert!(item["data"].is_m());
        let back: Text = from_item(item).unwrap();
        assert_eq!(back.data, inner());
    }

    #[test]
    fn a_broken_string_is_an_error_not_a_panic() {
        let mut item = to_item(&Text {
            pk: "k".into(),
            data: inner(),
        })
        .unwrap();
        item.insert("data".into(), crate::store::s("{not json"));
        assert!(from_item::<Text>(item).is_err());
    }
}
