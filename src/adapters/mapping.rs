//! Placeholder: being written.

use super::{AdapterError, AdapterSettings, PlatformRecord};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Mapping;

impl Mapping {
    pub fn translate(
        &self,
        _record: &PlatformRecord<'_>,
        _settings: &AdapterSettings,
    ) -> Result<Vec<Value>, AdapterError> {
        Err(AdapterError::bad(
            "mapping",
            "record",
            "is not supported yet",
        ))
    }
}
