use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use super::*;

const ALL: [Function; 4] = [
    Function::Incoming,
    Function::Admin,
    Function::Dispatch,
    Function::Sweeper,
];

fn read(function: Function, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(function, &|name| map.get(name).cloned())
}

/// What a deployed function of this kind is given (the SAM template sets these).
fn deployed(function: Function) -> Vec<(&'static str, &'static str)> {
    function
        .required()
        .iter()
        .map(|name| (*name, "https://example.com/value"))
        .collect()
}

#[test]
fn deployed_functions_start_with_their_required_variables() {
    for function in ALL {
        let config = read(function, &deployed(function)).expect("starts");
        assert!(!config.local_mode);
        assert_eq!(config.table_name, "https://example.com/value");
        assert_eq!(config.queue_url, "https://example.com/value");
    }
}

#[test]
fn a_missing_required_variable_is_an_error_naming_it() {
    for function in ALL {
        for missing in function.required() {
            let mut vars = deployed(function);
            vars.retain(|(k, _)| k != missing);
            let err = read(function, &vars).expect_err("refused");
            assert_eq!(err, ConfigError::Missing(missing), "{function:?}");
            assert!(err.to_string().starts_with(missing), "{err}");
            // Blank is unset, and LOCAL_MODE=false is not local.
            vars.push((missing, "  "));
            vars.push(("LOCAL_MODE", "false"));
            assert_eq!(
                read(function, &vars).err(),
                Some(ConfigError::Missing(missing))
            );
        }
    }
    assert_eq!(
        read(Function::Admin, &[]).err(),
        Some(ConfigError::Missing("TABLE_NAME"))
    );
}

#[test]
fn deployed_admin_needs_the_hash_even_with_a_clear_password() {
    let mut vars = deployed(Function::Admin);
    vars.retain(|(k, _)| *k != "ADMIN_PASSWORD_HASH");
    vars.push(("ADMIN_PASSWORD", "admin"));
    assert_eq!(
        read(Function::Admin, &vars).err(),
        Some(ConfigError::Missing("ADMIN_PASSWORD_HASH"))
    );
}

#[test]
fn local_mode_falls_back_to_the_local_defaults() {
    for function in ALL {
        let config = read(function, &[("LOCAL_MODE", "true")]).expect("local");
        let d = Config::defaults();
        assert!(config.local_mode);
        assert_eq!(config.table_name, d.table_name);
        assert_eq!(config.queue_url, d.queue_url);
        assert_eq!(config.public_base_url, d.public_base_url);
    }
}

#[test]
fn values_are_read_and_trimmed() {
    let mut vars = deployed(Function::Admin);
    vars.extend([
        ("PUBLIC_BASE_URL", "https://api.example.com/"),
        ("MAX_BODY_BYTES", " 1024 "),
        ("COURSE_MODULE_ENABLED", "off"),
        ("DISPATCH_CONCURRENCY", "0"),
    ]);
    let c = read(Function::Admin, &vars).expect("starts");
    assert_eq!(c.public_base_url, "https://api.example.com");
    assert_eq!(c.max_body_bytes, 1024);
    assert!(!c.course_module_enabled);
    assert_eq!(c.dispatch_concurrency, 1);
}

#[test]
fn a_malformed_number_or_flag_is_an_error_naming_the_variable() {
    for (name, value, expected) in [
        ("MAX_BODY_BYTES", "lots", "a number"),
        ("DELIVERY_TIMEOUT_SECONDS", "-1", "a number"),
        ("COURSE_MODULE_ENABLED", "maybe", "true or false"),
        ("LOCAL_MODE", "sure", "true or false"),
    ] {
        let err = read(Function::Dispatch, &[("LOCAL_MODE", "true"), (name, value)])
            .expect_err("refused");
        assert_eq!(err, ConfigError::Invalid { name, expected });
        assert!(!err.to_string().contains(value), "{err}");
    }
}

#[test]
fn variables_lists_exactly_what_is_read() {
    let asked = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        asked.borrow_mut().insert(name.to_string());
        Some(match name {
            "LOCAL_MODE" => "true".to_string(),
            _ => "1".to_string(),
        })
    };
    for function in ALL {
        Config::from_lookup(function, &lookup).expect("reads");
    }
    let listed: BTreeSet<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
    assert_eq!(asked.into_inner(), listed);
    for function in ALL {
        assert!(function.required().iter().all(|v| VARIABLES.contains(v)));
    }
}

#[test]
fn debug_hides_the_admin_password_and_hash() {
    let mut vars = deployed(Function::Admin);
    vars.retain(|(k, _)| *k != "ADMIN_PASSWORD_HASH");
    vars.extend([
        ("ADMIN_PASSWORD_HASH", "$argon2id$v=19$secret-hash"),
        ("ADMIN_PASSWORD", "hunter2-secret"),
    ]);
    let c = read(Function::Admin, &vars).expect("starts");
    let shown = format!("{c:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("table_name"), "{shown}");
}
