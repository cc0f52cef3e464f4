//! Enums with wire names: [`wire_enum!`] derives both string forms — serde's (JSON, stored
//! items) and strum's (`FromStr`, `Into<&'static str>`, `Display`, `iter()`) — from one case
//! rule, so the two can never disagree.

/// Declares an enum whose variants are named on the wire by one case rule
/// (`#[wire = "lowercase"]`, `"snake_case"`, …), for serde and strum alike. A variant named
/// otherwise carries both `#[serde(rename = "…")]` and `#[strum(serialize = "…")]`.
#[macro_export]
macro_rules! wire_enum {
    (
        #[wire = $case:literal]
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($body:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(
            ::serde::Serialize,
            ::serde::Deserialize,
            ::strum::EnumString,
            ::strum::IntoStaticStr,
            ::strum::Display,
            ::strum::EnumIter,
        )]
        #[serde(rename_all = $case)]
        #[strum(serialize_all = $case)]
        $vis enum $name { $($body)* }
    };
}
pub use crate::wire_enum;

/// Asserts that `T`'s variants are named `names`, in order, alike for serde, `Display`, `Into`
/// and `FromStr` (which refuses any other spelling, such as the variant's Rust name).
#[cfg(test)]
pub fn assert_names<T>(names: &[&str])
where
    T: strum::IntoEnumIterator
        + Into<&'static str>
        + std::str::FromStr
        + std::fmt::Display
        + serde::Serialize
        + PartialEq
        + std::fmt::Debug
        + Copy,
{
    let got: Vec<&str> = T::iter().map(Into::into).collect();
    assert_eq!(got, names);
    for v in T::iter() {
        let name: &str = v.into();
        assert_eq!(serde_json::to_value(v).unwrap(), name);
        assert_eq!(v.to_string(), name);
        assert!(name.parse::<T>().is_ok_and(|p| p == v), "{name}");
        assert!(format!("{v:?}").parse::<T>().is_err() || format!("{v:?}") == name);
    }
    assert!("".parse::<T>().is_err());
}
