//! Running a candidate `[map]` through the real mapping on every row again.

use rayon::prelude::*;
use serde_json::Value;
use xxhash_rust::xxh3::xxh3_128;

use crate::error::Result;
use crate::map::{check_canonical_columns, map_columns, Mapped};
use crate::model::position::Position;
use crate::model::user::Field;
use crate::read::{self, ReadOptions, Row};
use crate::rules::declarative::DeclarativeMap;

/// Rows read ahead of the threads that map them again.
const CONFIRM_CHUNK: usize = 2048;

/// What `map` makes of every row of `files`: the rows, the sum of their users' fingerprints,
/// and whether each file's columns pass the check a plan makes of them. A reader thread reads
/// chunks of rows while the worker threads map the chunks before.
pub(super) fn made_by(
    map: &DeclarativeMap,
    separator: char,
    files: &[String],
    options: &ReadOptions,
) -> Result<(u64, u128, bool)> {
    std::thread::scope(|scope| {
        let (sender, chunks) = std::sync::mpsc::sync_channel::<Vec<Row>>(2);
        let reader = scope.spawn(move || -> Result<bool> {
            let mut columns_fit = true;
            for file in files {
                let (mut first, mut chunk) = (true, Vec::with_capacity(CONFIRM_CHUNK));
                let mut sink = |row: Row| {
                    if std::mem::take(&mut first) && !map.fills(Field::ExternalId) {
                        let names = row.columns.iter().map(|(name, _)| map.renamed(name));
                        let at = row.position.to_string();
                        columns_fit &= check_canonical_columns(&at, names).is_ok();
                    }
                    chunk.push(row);
                    if chunk.len() == CONFIRM_CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CONFIRM_CHUNK));
                        sender
                            .send(full)
                            .map_err(|_| crate::error::Error::Stopped)?;
                    }
                    Ok(())
                };
                read::read_source(file, options, &mut sink)?;
                sender
                    .send(chunk)
                    .map_err(|_| crate::error::Error::Stopped)?;
            }
            Ok(columns_fit)
        });
        let (mut rows, mut users) = (0u64, 0u128);
        for chunk in chunks {
            rows += chunk.len() as u64;
            users = users.wrapping_add(
                chunk
                    .into_par_iter()
                    .map(|row| {
                        let mapped = map_columns(map.apply(row.columns), separator);
                        fingerprint(&row.position, &mapped)
                    })
                    .reduce(|| 0, u128::wrapping_add),
            );
        }
        let columns_fit = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((rows, users, columns_fit))
    })
}

/// The fingerprint of the user made of the row at `position`: its operation, fields and
/// platform ids. Summed over rows, in any order.
pub(super) fn fingerprint(position: &Position, mapped: &Mapped) -> u128 {
    let mut bytes = Vec::with_capacity(512);
    bytes.extend_from_slice(position.file.as_bytes());
    bytes.extend_from_slice(&position.index.to_le_bytes());
    bytes.push(mapped.op as u8);
    for (field, value) in mapped.user.fields() {
        bytes.extend_from_slice(field.name().as_bytes());
        encode(&mut bytes, value);
    }
    for (vendor, id) in &mapped.platform_ids {
        encode_text(&mut bytes, vendor);
        encode(&mut bytes, id);
    }
    xxh3_128(&bytes)
}

/// Appends a value: a tag, then its content with lengths, so that no two values give the
/// same bytes.
fn encode(bytes: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => bytes.push(0),
        Value::Bool(b) => bytes.extend_from_slice(&[1, u8::from(*b)]),
        Value::Number(n) => {
            bytes.push(2);
            encode_text(bytes, &n.to_string());
        }
        Value::String(s) => {
            bytes.push(3);
            encode_text(bytes, s);
        }
        Value::Array(items) => {
            bytes.push(4);
            bytes.extend_from_slice(&items.len().to_le_bytes());
            items.iter().for_each(|item| encode(bytes, item));
        }
        Value::Object(entries) => {
            bytes.push(5);
            bytes.extend_from_slice(&entries.len().to_le_bytes());
            for (key, item) in entries {
                encode_text(bytes, key);
                encode(bytes, item);
            }
        }
    }
}

fn encode_text(bytes: &mut Vec<u8>, text: &str) {
    bytes.extend_from_slice(&text.len().to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
}
