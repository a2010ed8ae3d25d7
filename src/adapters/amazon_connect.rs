//! Placeholder: being written.

use super::{AdapterError, AdapterSettings, PlatformRecord};
use serde_json::Value;

pub fn translate(
    _record: &PlatformRecord<'_>,
    _settings: &AdapterSettings,
) -> Result<Vec<Value>, AdapterError> {
    Err(AdapterError::bad(
        "amazon_connect",
        "record",
        "is not supported yet",
    ))
}
