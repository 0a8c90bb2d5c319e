//! llmscope's own call record, one per line (what `llmscope calls --format jsonl` writes and
//! the ingest API takes). Type errors name the JSON path of the field.

use llmscope_core::Call;
use serde_json::{Map, Value};

use super::LineError;

pub fn map(obj: &Map<String, Value>, call: &mut Call) -> Result<(), LineError> {
    let derived_id = std::mem::take(&mut call.id);
    let project = std::mem::take(&mut call.project);
    let value = Value::Object(obj.clone());
    let parsed: Call = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        LineError::at(if path == "." { String::new() } else { path }, e.into_inner().to_string())
    })?;
    *call = parsed;
    if call.id.is_empty() {
        call.id = derived_id;
    } else if call.id.len() > 128 {
        return Err(LineError::at("id".into(), "longer than 128 characters".into()));
    }
    if call.project.is_empty() {
        call.project = project;
    }
    Ok(())
}
