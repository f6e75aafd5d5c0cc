//! The impact preview of a flag change: the environment's sampled contexts
//! (`crate::sample`) evaluated with the flag as published and as it would be, and what
//! changed. Evaluation uses one fixed time and, per context, the same random draws before
//! and after, so only the change makes a difference. The write service answers a change
//! made in preview mode with [`previews`]; change requests show [`preview`].

use std::collections::BTreeMap;

use chrono::Utc;
use flagpole_core::{Context, Flag, Item, Pending, Snapshot, SplitMix64};
use serde::Serialize;

use crate::core::Core;
use crate::error::ApiError;
use crate::published::Published;

/// Examples a report shows.
pub const MAX_EXAMPLES: usize = 5;

/// What a change would do to the sampled contexts of one environment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PreviewReport {
    pub environment: String,
    pub flag: String,
    /// Contexts in the sample.
    pub sampled: usize,
    /// Contexts offered to the sample since it started.
    pub seen: u64,
    /// Contexts whose value or variant would change.
    pub changed: usize,
    /// Contexts that would go from off to on.
    pub off_to_on: usize,
    /// Contexts that would go from on to off.
    pub on_to_off: usize,
    /// Contexts whose variant would change, by `before→after` (`-` for none).
    pub variants: BTreeMap<String, usize>,
    /// A few contexts that would change.
    pub examples: Vec<Example>,
}

/// One context that would change.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Example {
    #[schema(value_type = Object)]
    pub context: Context,
    pub before: Outcome,
    pub after: Outcome,
}

/// What a context is served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub enabled: bool,
    pub variant: Option<String>,
}

/// Previews a change of flag `key` in `environment` to `proposed` (`None`: deleted or
/// archived) on the environment's sample. What change requests attach, too.
pub fn preview(
    core: &Core,
    environment: &str,
    key: &str,
    proposed: Option<&Flag>,
) -> Result<PreviewReport, ApiError> {
    let contexts = core.samplers().sample(environment);
    let published = core.published();
    let before = published.snapshot(environment)?;
    let pending = Pending {
        base: &*published,
        item: Item::Flag(key, proposed),
    };
    let after = before.with_changes(&pending, [key]);
    let mut report = compare(before, &after, key, &contexts);
    report.environment = environment.to_string();
    report.seen = core.samplers().seen(environment);
    Ok(report)
}

/// Evaluates `contexts` for `key` on both snapshots and counts the differences.
pub fn compare(
    before: &Snapshot,
    after: &Snapshot,
    key: &str,
    contexts: &[Context],
) -> PreviewReport {
    let now = Utc::now();
    let mut report = PreviewReport {
        flag: key.to_string(),
        sampled: contexts.len(),
        ..PreviewReport::default()
    };
    for (i, ctx) in contexts.iter().enumerate() {
        let seed = 0x5eed_u64.wrapping_add(i as u64);
        let a = outcome(before, key, ctx, now, seed);
        let b = outcome(after, key, ctx, now, seed);
        if a == b {
            continue;
        }
        report.changed += 1;
        match (a.enabled, b.enabled) {
            (false, true) => report.off_to_on += 1,
            (true, false) => report.on_to_off += 1,
            _ => {}
        }
        if a.variant != b.variant {
            let name = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            *report
                .variants
                .entry(format!("{}→{}", name(&a.variant), name(&b.variant)))
                .or_default() += 1;
        }
        if report.examples.len() < MAX_EXAMPLES {
            report.examples.push(Example {
                context: ctx.clone(),
                before: a,
                after: b,
            });
        }
    }
    report
}

fn outcome(
    s: &Snapshot,
    key: &str,
    ctx: &Context,
    now: chrono::DateTime<Utc>,
    seed: u64,
) -> Outcome {
    let e = s.evaluate(key, ctx, now, &mut SplitMix64(seed));
    Outcome {
        enabled: e.enabled,
        variant: e.variant.map(str::to_string),
    }
}

/// The previews of a flag change: a report for the environment the change is aimed at,
/// or for each environment whose configuration of the flag it changes.
pub fn previews(
    core: &Core,
    published: &Published,
    key: &str,
    proposed: Option<&Flag>,
    environment: Option<&str>,
) -> Result<Vec<PreviewReport>, ApiError> {
    let before = published.live_flag(key);
    let environments: Vec<String> = match environment {
        Some(e) => vec![e.to_string()],
        None => published
            .environments
            .iter()
            .map(|e| e.name.clone())
            .filter(|e| {
                before.as_ref().and_then(|f| f.environments.get(e))
                    != proposed.and_then(|f| f.environments.get(e))
            })
            .collect(),
    };
    environments
        .iter()
        .map(|e| preview(core, e, key, proposed))
        .collect()
}
