//! `flagpole eval`: evaluate a flag file against contexts without a server.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use flagpole_core::formats::{self, Format};
use flagpole_core::{Context, Evaluation, Snapshot, SplitMix64};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The flag file (native JSON or YAML, Unleash ClientFeatures JSON, or seed flags.json).
    #[arg(long)]
    flags: PathBuf,
    /// The file's format.
    #[arg(long, default_value = "native")]
    format: Format,
    /// The environment to evaluate (imported Unleash and seed files are put in it).
    #[arg(long, default_value = "production")]
    environment: String,
    /// One context as JSON, e.g. '{"userId": "42", "plan": "pro"}'.
    #[arg(
        long,
        conflicts_with = "contexts",
        required_unless_present = "contexts"
    )]
    context: Option<String>,
    /// A file with one JSON context per line; `-` reads standard input.
    #[arg(long)]
    contexts: Option<PathBuf>,
    /// Evaluate only this flag (default: every flag).
    #[arg(long)]
    flag: Option<String>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.flags)
        .with_context(|| format!("cannot read {}", args.flags.display()))?;
    let doc = formats::import(&text, args.format, &args.environment)
        .with_context(|| format!("{} is not a valid flag file", args.flags.display()))?;
    let snapshot = Snapshot::compile(&doc, &args.environment)?;
    if let Some(key) = &args.flag {
        if !snapshot.contains(key) {
            bail!("no flag {key:?} in {}", args.flags.display());
        }
    }
    let now = chrono::Utc::now();
    let mut rng = SplitMix64(now.timestamp_nanos_opt().unwrap_or_default() as u64);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut emit = |ctx: &Context, line: Option<usize>| -> Result<()> {
        let keys: Vec<&str> = match &args.flag {
            Some(k) => vec![k.as_str()],
            None => doc.flags.keys().map(String::as_str).collect(),
        };
        for key in keys {
            let e = snapshot.evaluate(key, ctx, now, &mut rng);
            let mut row = result_json(key, &e);
            if let Some(n) = line {
                row["line"] = json!(n);
            }
            writeln!(out, "{row}")?;
        }
        Ok(())
    };
    match (&args.context, &args.contexts) {
        (Some(text), _) => emit(
            &parse_context(text).context("--context is not a valid context")?,
            None,
        )?,
        (None, Some(path)) => {
            let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                ))
            };
            for (i, line) in reader.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let ctx = parse_context(&line).with_context(|| {
                    format!("{}:{}: not a valid context", path.display(), i + 1)
                })?;
                emit(&ctx, Some(i + 1))?;
            }
        }
        (None, None) => bail!("give --context JSON or --contexts FILE"),
    }
    out.flush()?;
    Ok(())
}

fn parse_context(text: &str) -> Result<Context> {
    Ok(Context::from_json_slice(text.as_bytes())?)
}

/// One evaluation as a JSON line: flag, enabled, variant, value, reason, rule.
fn result_json(key: &str, e: &Evaluation<'_>) -> Value {
    let mut row = json!({
        "flag": key,
        "enabled": e.enabled,
        "variant": e.variant,
        "value": e.value,
        "reason": e.reason.as_str(),
    });
    if let Some(i) = e.rule_index {
        row["rule"] = json!(i);
    }
    if let Some(code) = e.error {
        row["error"] = json!(code);
    }
    row
}
