//! State checkpoints: the engine state together with the input offsets it
//! reflects, written atomically (temp file + rename). On start the engine is
//! restored and every record below the checkpointed offset is skipped, so a
//! crash between checkpoint and offset commit replays nothing twice.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: corrupt checkpoint: {message}")]
    Corrupt { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Input topic name, so a checkpoint is never applied to another topic.
    pub topic: String,
    /// Partition → next offset to process.
    pub offsets: BTreeMap<i32, i64>,
    pub engine: Vec<u8>,
}

pub fn path_for(dir: &Path, group_id: &str) -> PathBuf {
    let safe: String = group_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.checkpoint"))
}

pub fn load(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Io {
                path: path.into(),
                source,
            })
        }
    };
    postcard::from_bytes(&bytes)
        .map(Some)
        .map_err(|e| CheckpointError::Corrupt {
            path: path.into(),
            message: e.to_string(),
        })
}

/// Writes atomically; returns the size in bytes.
pub fn save(path: &Path, checkpoint: &Checkpoint) -> Result<usize, CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.into(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let bytes = postcard::to_allocvec(checkpoint).expect("checkpoint serializes");
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(&bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_corruption() {
        let dir = std::env::temp_dir().join(format!("ckpi-ckpt-{}", std::process::id()));
        let path = path_for(&dir, "group/1");
        assert!(load(&path).unwrap().is_none());
        let c = Checkpoint {
            topic: "t".into(),
            offsets: [(0, 5), (3, 9)].into(),
            engine: vec![1, 2, 3],
        };
        save(&path, &c).unwrap();
        assert_eq!(load(&path).unwrap(), Some(c));
        std::fs::write(&path, [0xff, 0xff, 0xff]).unwrap();
        assert!(matches!(load(&path), Err(CheckpointError::Corrupt { .. })));
        std::fs::remove_dir_all(dir).ok();
    }
}
