//! `topk inspect FILE...`: decode snapshot files natively, merge them, print metadata and top-K.

use std::path::PathBuf;

use anyhow::{Context, Result};
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
/// A file that cannot be read, is not a valid snapshot, or cannot merge with the others.
pub fn run(args: InspectArgs) -> Result<()> {
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
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }

    println!("files:          {}", args.files.len());
    println!("total weight:   {}", summary.total_weight());
    println!("maximum error:  {}", summary.maximum_error());
    println!("distinct items: {:.0}", summary.distinct());
    println!("metadata:       {}", metadata_json(&summary.metadata));
    println!();
    let width = rows
        .iter()
        .map(|row| String::from_utf8_lossy(row.item).chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 60);
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>12}",
        "item", "estimate", "lower", "upper"
    );
    for row in &rows {
        let item: String = String::from_utf8_lossy(row.item).chars().take(60).collect();
        println!(
            "{item:<width$}  {:>12}  {:>12}  {:>12}",
            row.estimate, row.lower_bound, row.upper_bound
        );
    }
    Ok(())
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
