//! `topk inspect FILE...`: decode snapshot files natively, merge them, print metadata and top-K.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use topk_sketch::snapshot::{self, Metadata};
use topk_sketch::{ErrorType, Summary};

/// Options of `topk inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// Snapshot files (as written by the component, the SmartModule or GET /api/v1/snapshots);
    /// several are merged.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,

    /// Number of rows to print. Default: 10.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,

    /// Print JSON instead of a table. Default: false.
    #[arg(long)]
    pub json: bool,
}

/// Runs `topk inspect`.
///
/// # Errors
///
/// A file that cannot be read, is given twice, is not a valid snapshot or cannot merge with the
/// others. Also a failed write to standard output, such as one to a closed pipe.
pub fn run(args: InspectArgs) -> Result<()> {
    reject_repeated_files(&args.files)?;

    let mut merged: Option<Summary> = None;
    for path in &args.files {
        let bytes =
            std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
        let summary = snapshot::decode(&bytes)
            .with_context(|| format!("{} is not a valid topk snapshot", path.display()))?;
        match &mut merged {
            None => merged = Some(summary),
            Some(total) => total.merge(&summary).with_context(|| {
                format!("cannot merge {} with the files before it", path.display())
            })?,
        }
    }
    let summary = merged.expect("clap requires at least one file");
    let rows = summary.top_k(args.k, ErrorType::NoFalseNegatives);
    let mut out = io::stdout().lock();

    if args.json {
        let rows: Vec<_> = rows
            .iter()
            .map(|row| {
                serde_json::json!({
                    "item": String::from_utf8_lossy(row.item),
                    "estimated_count": row.estimate,
                    "lower_bound": row.lower_bound,
                    "upper_bound": row.upper_bound,
                    "error_bound": row.upper_bound - row.lower_bound,
                })
            })
            .collect();
        let body = serde_json::json!({
            "files": args.files,
            "metadata": metadata_json(&summary.metadata),
            "total_weight": summary.total_weight(),
            "maximum_error": summary.maximum_error(),
            "distinct_items": summary.distinct(),
            "config": {
                "max_map_size": summary.config().max_map_size,
                "hll_precision": summary.config().hll_precision,
                "count_min_width": summary.config().count_min_width,
                "count_min_depth": summary.config().count_min_depth,
            },
            "rows": rows,
        });
        serde_json::to_writer_pretty(&mut out, &body)?;
        writeln!(out)?;
        return Ok(());
    }

    writeln!(out, "files:          {}", args.files.len())?;
    writeln!(out, "total weight:   {}", summary.total_weight())?;
    writeln!(out, "maximum error:  {}", summary.maximum_error())?;
    writeln!(out, "distinct items: {:.0}", summary.distinct())?;
    writeln!(out, "metadata:       {}", metadata_json(&summary.metadata))?;
    writeln!(out)?;
    let width = rows
        .iter()
        .map(|row| String::from_utf8_lossy(row.item).chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    writeln!(out, "{:<width$}  {:>12}  {:>12}  {:>12}", "item", "estimate", "lower", "upper")?;
    for row in &rows {
        let item: String = String::from_utf8_lossy(row.item).chars().take(60).collect();
        writeln!(out, "{item:<width$}  {:>12}  {:>12}  {:>12}", row.estimate, row.lower_bound, row.upper_bound)?;
    }
    Ok(())
}

/// Rejects a snapshot file named twice (also through another spelling of its path, such as
/// `./a.snap` or a symbolic link), because merging it twice would double its counts.
fn reject_repeated_files(files: &[PathBuf]) -> Result<()> {
    let mut seen: HashMap<FileIdentity, &Path> = HashMap::new();
    for path in files {
        let identity = file_identity(path).with_context(|| format!("failed to read {}", path.display()))?;
        if let Some(first) = seen.insert(identity, path) {
            let spelled = if first == path.as_path() {
                String::new()
            } else {
                format!(" (also as {})", first.display())
            };
            bail!(
                "snapshot file {} is given twice{spelled}: merging it twice would double its counts; pass each file once",
                path.display()
            );
        }
    }
    Ok(())
}

/// The identity of a file: device and inode on Unix, so hard links match too;
/// the canonical path elsewhere.
#[cfg(unix)]
type FileIdentity = (u64, u64);
#[cfg(not(unix))]
type FileIdentity = PathBuf;

#[cfg(unix)]
fn file_identity(path: &Path) -> std::io::Result<FileIdentity> {
    use std::os::unix::fs::MetadataExt;

    let metadata = std::fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> std::io::Result<FileIdentity> {
    std::fs::canonicalize(path)
}

fn metadata_json(metadata: &Metadata) -> serde_json::Value {
    serde_json::json!({
        "window": metadata.window.map(|window| serde_json::json!({"start_ms": window.start, "end_ms": window.end})),
        "watermark_ms": metadata.watermark,
        "dimension": metadata.dimension.as_ref().map(|dimension| serde_json::json!({
            "name": String::from_utf8_lossy(&dimension.name),
            "value": String::from_utf8_lossy(&dimension.value),
        })),
        "sources": metadata.sources.iter().map(|range| serde_json::json!({
            "source": String::from_utf8_lossy(&range.source), "start": range.start, "end": range.end,
        })).collect::<Vec<_>>(),
        "late_events": metadata.late_events,
        "malformed_records": metadata.malformed_records,
    })
}
