//! [`crate::ReleaseStore`]: release plans, their leases and impact metrics. Plans change
//! by revision (an update names the revision it read); impact samples are merged into
//! their row under its lock, where writes run concurrently.

/// Expands to the `ReleaseStore` implementation, as a module of [`super::store`]'s
/// expansion.
macro_rules! expand {
    () => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;

        use super::fetch::{all, find, optional, Decode};
        use super::{Engine, Query, Row, FOR_UPDATE};
        use crate::backend::Backend;
        use crate::release::{
            labels_key, merge_sample, ImpactRecord, ImpactSample, PlanFilter, ReleasePlan,
            ReleaseStore, SamplingSetting,
        };
        use crate::rules::{self, parse, to_text};
        use crate::error::Error;
        use crate::sql::decode;

        const PLAN: &str = "release plan";
        const METRIC: &str = "impact metric";
        const COLUMNS: &str = "id, flag, environment, rule, milestones, guards, on_breach, step, \
             status, reason, before_body, last_version, next_at, created_by, created_at, \
             updated_at, revision";

        #[async_trait]
        impl ReleaseStore for Engine {
            async fn create_release_plan(&self, plan: &ReleasePlan) -> Result<ReleasePlan, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let active: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM release_plans WHERE flag = $1 AND environment = $2 \
                     AND status IN ('running', 'paused')",
                )
                .bind(&plan.flag)
                .bind(&plan.environment)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = active {
                    let detail = format!("has an active release plan ({id}) there");
                    return Err(rules::conflict(PLAN, &plan.flag, &detail));
                }
                let insert = sqlx::query(
                    "INSERT INTO release_plans (milestones, guards, on_breach, step, status, \
                     reason, last_version, next_at, updated_at, flag, environment, rule, \
                     before_body, created_by, created_at, revision) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1) \
                     RETURNING id",
                );
                let id: i64 = with_state(insert, plan)?
                    .bind(&plan.flag)
                    .bind(&plan.environment)
                    .bind(plan.rule)
                    .bind(to_text(PLAN, &plan.flag, &plan.before)?)
                    .bind(&plan.created_by)
                    .bind(Engine::timestamp(&plan.created_at))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match e {
                        // Another process's plan came first.
                        sqlx::Error::Database(db) if db.is_unique_violation() => {
                            rules::conflict(PLAN, &plan.flag, "has an active release plan there")
                        }
                        e => Error::Database(e),
                    })?
                    .try_get("id")?;
                tx.commit().await?;
                Ok(ReleasePlan {
                    id,
                    revision: 1,
                    ..plan.clone()
                })
            }

            async fn release_plan(&self, id: i64) -> Result<Option<ReleasePlan>, Error> {
                let sql = format!("SELECT {COLUMNS} FROM release_plans WHERE id = $1");
                find(self.pool(), sql, id).await
            }

            async fn release_plans(&self, filter: &PlanFilter) -> Result<Vec<ReleasePlan>, Error> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM release_plans WHERE ($1 IS NULL OR flag = $1) \
                     AND ($2 IS NULL OR environment = $2) \
                     AND ($3 = false OR status IN ('running', 'paused')) \
                     ORDER BY id DESC LIMIT 1000"
                )))
                .bind(&filter.flag)
                .bind(&filter.environment)
                .bind(filter.active);
                all(self.pool(), query).await
            }

            async fn update_release_plan(&self, plan: &ReleasePlan) -> Result<ReleasePlan, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let update = sqlx::query(
                    "UPDATE release_plans SET milestones = $1, guards = $2, on_breach = $3, \
                     step = $4, status = $5, reason = $6, last_version = $7, next_at = $8, \
                     updated_at = $9, revision = revision + 1 WHERE id = $10 AND revision = $11",
                );
                let done = with_state(update, plan)?
                    .bind(plan.id)
                    .bind(plan.revision)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if done == 0 {
                    let exists: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM release_plans WHERE id = $1")
                            .bind(plan.id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let id = plan.id.to_string();
                    return Err(match exists {
                        None => rules::not_found(PLAN, &id),
                        Some(_) => rules::conflict(PLAN, &id, "changed since it was read"),
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
                let (_lock, mut tx) = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE release_plans SET lease_owner = $1, lease_until = $2 WHERE id = $3 \
                     AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $5)",
                )
                .bind(owner)
                .bind(Engine::timestamp(&until))
                .bind(id)
                .bind(Engine::timestamp(&now))
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
                let bucket = Engine::timestamp(&bucket);
                let (_lock, mut tx) = self.begin_write().await?;
                for sample in samples {
                    let labels = labels_key(&sample.labels);
                    // The series' key, bound as $1 to $4.
                    let series = |query: Query<'static>| {
                        query
                            .bind(environment)
                            .bind(&bucket)
                            .bind(&sample.name)
                            .bind(&labels)
                    };
                    if Engine::CONCURRENT_WRITES {
                        // The row first, so that concurrent reports of the same series wait
                        // on its lock.
                        series(sqlx::query(
                            "INSERT INTO impact_metrics (environment, bucket, name, labels, kind, \
                             value, count, sum, buckets) \
                             VALUES ($1, $2, $3, $4, $5, 0, 0, 0, '[]') ON CONFLICT DO NOTHING",
                        ))
                        .bind(&sample.kind)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let stored = series(sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT name, kind, labels, value, count, sum, buckets FROM impact_metrics \
                         WHERE environment = $1 AND bucket = $2 AND name = $3 AND labels = $4\
                         {FOR_UPDATE}"
                    ))));
                    let mut merged = match optional(&mut *tx, stored).await? {
                        Some(mut stored) => {
                            merge_sample(&mut stored, sample);
                            stored
                        }
                        None => sample.clone(),
                    };
                    merged.labels = sample.labels.clone();
                    series(sqlx::query(
                        "INSERT INTO impact_metrics (environment, bucket, name, labels, kind, \
                         value, count, sum, buckets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (environment, bucket, name, labels) DO UPDATE SET \
                         kind = excluded.kind, value = excluded.value, count = excluded.count, \
                         sum = excluded.sum, buckets = excluded.buckets",
                    ))
                    .bind(&merged.kind)
                    .bind(merged.value)
                    .bind(merged.count)
                    .bind(merged.sum)
                    .bind(to_text(METRIC, &merged.name, &merged.buckets)?)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn sampling_settings(&self) -> Result<Vec<SamplingSetting>, Error> {
                let query = sqlx::query(
                    "SELECT environment, enabled, mode, size FROM sampling_settings \
                     ORDER BY environment",
                );
                all(self.pool(), query).await
            }

            async fn put_sampling_setting(&self, setting: &SamplingSetting) -> Result<(), Error> {
                sqlx::query(
                    "INSERT INTO sampling_settings (environment, enabled, mode, size) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (environment) DO UPDATE SET \
                     enabled = excluded.enabled, mode = excluded.mode, size = excluded.size",
                )
                .bind(&setting.environment)
                .bind(setting.enabled)
                .bind(&setting.mode)
                .bind(setting.size)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn impact(
                &self,
                environment: &str,
                name: &str,
                since: DateTime<Utc>,
            ) -> Result<Vec<ImpactRecord>, Error> {
                let query = sqlx::query(
                    "SELECT environment, bucket, name, kind, labels, value, count, sum, buckets \
                     FROM impact_metrics WHERE environment = $1 AND name = $2 AND bucket >= $3 \
                     ORDER BY bucket, labels LIMIT 10000",
                )
                .bind(environment)
                .bind(name)
                .bind(Engine::timestamp(&since));
                all(self.pool(), query).await
            }
        }

        /// `query` with the plan's state (what an update replaces) bound as `$1` to `$9`:
        /// milestones, guards, on_breach, step, status, reason, last_version, next_at and
        /// updated_at.
        fn with_state(query: Query<'static>, plan: &ReleasePlan) -> Result<Query<'static>, Error> {
            Ok(query
                .bind(to_text(PLAN, &plan.flag, &plan.milestones)?)
                .bind(to_text(PLAN, &plan.flag, &plan.guards)?)
                .bind(&plan.on_breach)
                .bind(plan.step)
                .bind(&plan.status)
                .bind(&plan.reason)
                .bind(plan.last_version)
                .bind(plan.next_at.as_ref().map(Engine::timestamp))
                .bind(Engine::timestamp(&plan.updated_at)))
        }

        decode!(ImpactSample from row {
            let name: String = row.try_get("name")?;
            columns: kind, value, count, sum;
            labels: parse(METRIC, &name, row.try_get("labels")?)?,
            buckets: parse(METRIC, &name, row.try_get("buckets")?)?,
            name,
        });

        decode!(ImpactRecord from row {
            columns: environment, bucket;
            sample: ImpactSample::decode(row)?,
        });

        decode!(SamplingSetting from row {
            columns: environment, enabled, mode, size;
        });

        decode!(ReleasePlan from row {
            let flag: String = row.try_get("flag")?;
            columns: id, environment, rule, on_breach, step, status, reason, last_version, next_at,
                created_by, created_at, updated_at, revision;
            milestones: parse(PLAN, &flag, row.try_get("milestones")?)?,
            guards: parse(PLAN, &flag, row.try_get("guards")?)?,
            before: parse(PLAN, &flag, row.try_get("before_body")?)?,
            flag,
        });
    };
}
pub(crate) use expand;
