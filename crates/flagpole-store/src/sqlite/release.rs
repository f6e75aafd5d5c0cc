//! [`ReleaseStore`] for [`SqliteStore`]: release plans and impact metrics. Updates are
//! serialized with every other write (the process mutex and `BEGIN IMMEDIATE`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::tables::timestamp;
use super::SqliteStore;
use crate::release::{
    decode, encode, labels_key, merge_sample, ImpactRecord, ImpactSample, PlanFilter, ReleasePlan,
    ReleaseStore, SamplingSetting,
};
use crate::Error;

const PLAN: &str = "release plan";
const METRIC: &str = "impact metric";
const COLUMNS: &str = "id, flag, environment, rule, milestones, guards, on_breach, step, \
     status, reason, before_body, last_version, next_at, created_by, created_at, updated_at, revision";

#[async_trait]
impl ReleaseStore for SqliteStore {
    async fn create_release_plan(&self, plan: &ReleasePlan) -> Result<ReleasePlan, Error> {
        let (_guard, mut tx) = self.begin_write().await?;
        let active: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM release_plans WHERE flag = ? AND environment = ? AND status IN ('running', 'paused')",
        )
        .bind(&plan.flag)
        .bind(&plan.environment)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = active {
            return Err(conflict(
                &plan.flag,
                format!("has an active release plan ({id}) there"),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO release_plans (flag, environment, rule, milestones, guards, on_breach, \
             step, status, reason, before_body, last_version, next_at, created_by, created_at, \
             updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id",
        )
        .bind(&plan.flag)
        .bind(&plan.environment)
        .bind(plan.rule)
        .bind(encode(PLAN, &plan.flag, &plan.milestones)?)
        .bind(encode(PLAN, &plan.flag, &plan.guards)?)
        .bind(&plan.on_breach)
        .bind(plan.step)
        .bind(&plan.status)
        .bind(&plan.reason)
        .bind(encode(PLAN, &plan.flag, &plan.before)?)
        .bind(plan.last_version)
        .bind(plan.next_at.as_ref().map(timestamp))
        .bind(&plan.created_by)
        .bind(timestamp(&plan.created_at))
        .bind(timestamp(&plan.updated_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            // Another replica's plan came first.
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                conflict(&plan.flag, "has an active release plan there".into())
            }
            e => Error::Database(e),
        })?;
        tx.commit().await?;
        Ok(ReleasePlan {
            id,
            revision: 1,
            ..plan.clone()
        })
    }

    async fn release_plan(&self, id: i64) -> Result<Option<ReleasePlan>, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM release_plans WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(plan_record).transpose()
    }

    async fn release_plans(&self, filter: &PlanFilter) -> Result<Vec<ReleasePlan>, Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM release_plans WHERE (?1 IS NULL OR flag = ?1) \
             AND (?2 IS NULL OR environment = ?2) \
             AND (?3 = 0 OR status IN ('running', 'paused')) ORDER BY id DESC LIMIT 1000"
        )))
        .bind(&filter.flag)
        .bind(&filter.environment)
        .bind(filter.active)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(plan_record)
        .collect()
    }

    async fn update_release_plan(&self, plan: &ReleasePlan) -> Result<ReleasePlan, Error> {
        let (_guard, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE release_plans SET milestones = ?, guards = ?, on_breach = ?, step = ?, \
             status = ?, reason = ?, last_version = ?, next_at = ?, updated_at = ?, \
             revision = revision + 1 WHERE id = ? AND revision = ?",
        )
        .bind(encode(PLAN, &plan.flag, &plan.milestones)?)
        .bind(encode(PLAN, &plan.flag, &plan.guards)?)
        .bind(&plan.on_breach)
        .bind(plan.step)
        .bind(&plan.status)
        .bind(&plan.reason)
        .bind(plan.last_version)
        .bind(plan.next_at.as_ref().map(timestamp))
        .bind(timestamp(&plan.updated_at))
        .bind(plan.id)
        .bind(plan.revision)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM release_plans WHERE id = ?")
                    .bind(plan.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                None => Error::NotFound {
                    kind: PLAN,
                    name: plan.id.to_string(),
                },
                Some(_) => conflict(&plan.id.to_string(), "changed since it was read".into()),
            });
        }
        tx.commit().await?;
        Ok(ReleasePlan {
            revision: plan.revision + 1,
            ..plan.clone()
        })
    }

    async fn claim_release_plan(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let (_guard, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE release_plans SET lease_owner = ?, lease_until = ? WHERE id = ? \
             AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)",
        )
        .bind(owner)
        .bind(timestamp(&until))
        .bind(id)
        .bind(timestamp(&now))
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn record_impact(
        &self,
        environment: &str,
        bucket: DateTime<Utc>,
        samples: &[ImpactSample],
    ) -> Result<(), Error> {
        if samples.is_empty() {
            return Ok(());
        }
        let bucket = timestamp(&bucket);
        let (_guard, mut tx) = self.begin_write().await?;
        for sample in samples {
            let labels = labels_key(&sample.labels);
            let row = sqlx::query(
                "SELECT name, kind, labels, value, count, sum, buckets FROM impact_metrics \
                 WHERE environment = ? AND bucket = ? AND name = ? AND labels = ?",
            )
            .bind(environment)
            .bind(&bucket)
            .bind(&sample.name)
            .bind(&labels)
            .fetch_optional(&mut *tx)
            .await?;
            let mut merged = match row.as_ref().map(impact_sample).transpose()? {
                Some(mut stored) => {
                    merge_sample(&mut stored, sample);
                    stored
                }
                None => sample.clone(),
            };
            merged.labels = sample.labels.clone();
            sqlx::query(
                "INSERT INTO impact_metrics (environment, bucket, name, labels, kind, value, count, sum, buckets) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (environment, bucket, name, labels) DO UPDATE SET \
                 kind = excluded.kind, value = excluded.value, count = excluded.count, sum = excluded.sum, \
                 buckets = excluded.buckets",
            )
            .bind(environment)
            .bind(&bucket)
            .bind(&merged.name)
            .bind(&labels)
            .bind(&merged.kind)
            .bind(merged.value)
            .bind(merged.count)
            .bind(merged.sum)
            .bind(encode(METRIC, &merged.name, &merged.buckets)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn sampling_settings(&self) -> Result<Vec<SamplingSetting>, Error> {
        sqlx::query(
            "SELECT environment, enabled, mode, size FROM sampling_settings ORDER BY environment",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(SamplingSetting {
                environment: row.try_get("environment")?,
                enabled: row.try_get("enabled")?,
                mode: row.try_get("mode")?,
                size: row.try_get("size")?,
            })
        })
        .collect()
    }

    async fn put_sampling_setting(&self, setting: &SamplingSetting) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO sampling_settings (environment, enabled, mode, size) VALUES (?, ?, ?, ?) \
             ON CONFLICT (environment) DO UPDATE SET enabled = excluded.enabled, \
             mode = excluded.mode, size = excluded.size",
        )
        .bind(&setting.environment)
        .bind(setting.enabled)
        .bind(&setting.mode)
        .bind(setting.size)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn impact(
        &self,
        environment: &str,
        name: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<ImpactRecord>, Error> {
        sqlx::query(
            "SELECT environment, bucket, name, kind, labels, value, count, sum, buckets FROM impact_metrics \
             WHERE environment = ? AND name = ? AND bucket >= ? ORDER BY bucket, labels LIMIT 10000",
        )
        .bind(environment)
        .bind(name)
        .bind(timestamp(&since))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ImpactRecord {
                environment: row.try_get("environment")?,
                bucket: row.try_get("bucket")?,
                sample: impact_sample(row)?,
            })
        })
        .collect()
    }
}

fn conflict(name: &str, detail: String) -> Error {
    Error::Conflict {
        kind: PLAN,
        name: name.to_string(),
        detail,
    }
}

fn impact_sample(row: &SqliteRow) -> Result<ImpactSample, Error> {
    let name: String = row.try_get("name")?;
    let labels: String = row.try_get("labels")?;
    let buckets: String = row.try_get("buckets")?;
    Ok(ImpactSample {
        labels: decode(METRIC, &name, &labels)?,
        buckets: decode(METRIC, &name, &buckets)?,
        kind: row.try_get("kind")?,
        value: row.try_get("value")?,
        count: row.try_get("count")?,
        sum: row.try_get("sum")?,
        name,
    })
}

fn plan_record(row: &SqliteRow) -> Result<ReleasePlan, Error> {
    let flag: String = row.try_get("flag")?;
    let milestones: String = row.try_get("milestones")?;
    let guards: String = row.try_get("guards")?;
    let before: String = row.try_get("before_body")?;
    Ok(ReleasePlan {
        id: row.try_get("id")?,
        environment: row.try_get("environment")?,
        rule: row.try_get("rule")?,
        milestones: decode(PLAN, &flag, &milestones)?,
        guards: decode(PLAN, &flag, &guards)?,
        on_breach: row.try_get("on_breach")?,
        step: row.try_get("step")?,
        status: row.try_get("status")?,
        reason: row.try_get("reason")?,
        before: decode(PLAN, &flag, &before)?,
        last_version: row.try_get("last_version")?,
        next_at: row.try_get("next_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        revision: row.try_get("revision")?,
        flag,
    })
}
