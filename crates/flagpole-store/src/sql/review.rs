//! [`crate::ReviewStore`]: schedules and change requests, audited without raising the
//! configuration version. A claim of due schedules skips rows another process is claiming
//! (`SKIP LOCKED`, where writes run concurrently), and its lease lets another process take
//! over a schedule whose process died applying it. Changes that depend on a status make
//! it a condition of their `UPDATE`, so two deciding at once cannot both win.

/// Expands to the `ReviewStore` implementation, as a module of [`super::store`]'s
/// expansion.
macro_rules! expand {
    () => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;

        use super::fetch::{all, find, narrowed, Decode};
        use super::steps::{config_version, insert_audit};
        use super::{Conn, Engine, Row, Tx, FOR_UPDATE, JSON, SKIP_LOCKED};
        use crate::backend::Backend;
        use crate::review::{
            ChangeRequestRecord, Comment, NewChangeRequest, NewSchedule, Proposal, ReviewStore,
            ScheduleFilter, ScheduleRecord, CHANGE_REQUEST, SCHEDULE,
        };
        use crate::rules;
        use crate::write::EnvironmentSwitch;
        use crate::error::Error;
        use crate::sql::decode;
use crate::records::{Change, Written};

        const SCHEDULE_COLUMNS: &str = "id, kind, target, \
             CAST(environments AS TEXT) AS environments, CAST(body AS TEXT) AS body, based_on, \
             due_at, status, reason, change_request, created_by, created_at, updated_at, \
             CAST(attempts AS BIGINT) AS attempts";

        /// No lock on the rows read (see [`FOR_UPDATE`]).
        const UNLOCKED: &str = "";

        const CHANGE_REQUEST_COLUMNS: &str = "id, kind, target, \
             CAST(environments AS TEXT) AS environments, CAST(body AS TEXT) AS body, based_on, \
             description, status, author, reviewer, schedule_id, \
             CAST(comments AS TEXT) AS comments, created_at, updated_at";

        #[async_trait]
        impl ReviewStore for Engine {
            async fn create_schedule(
                &self,
                new: &NewSchedule<'_>,
                change: Change<'_>,
            ) -> Result<ScheduleRecord, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let now = rules::now();
                let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO schedules (kind, target, environments, body, based_on, due_at, \
                     status, change_request, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3{JSON}, $4{JSON}, $5, $6, 'pending', $7, $8, $9, $9) \
                     RETURNING id"
                )))
                .bind(new.kind)
                .bind(new.target)
                .bind(rules::to_text(SCHEDULE, new.target, &new.environments)?)
                .bind(rules::to_text(SCHEDULE, new.target, new.body)?)
                .bind(new.based_on)
                .bind(Engine::timestamp(&new.due_at))
                .bind(new.change_request)
                .bind(new.created_by)
                .bind(Engine::timestamp(&now))
                .fetch_one(&mut *tx)
                .await?;
                let record = schedule_in(&mut tx, id).await?;
                commit_audited(tx, &change, record).await
            }

            async fn schedules(
                &self,
                filter: &ScheduleFilter,
            ) -> Result<Vec<ScheduleRecord>, Error> {
                let select = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE 1 = 1");
                let equal = [
                    ("status", filter.status.as_deref()),
                    ("kind", filter.kind.as_deref()),
                    ("target", filter.target.as_deref()),
                ];
                let mut query = narrowed(select, &equal);
                query.push(" ORDER BY due_at, id LIMIT 1000");
                all(self.pool(), query.build()).await
            }

            async fn schedule(&self, id: i64) -> Result<Option<ScheduleRecord>, Error> {
                let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = $1");
                find(self.pool(), sql, id).await
            }

            async fn cancel_schedule(
                &self,
                id: i64,
                change: Change<'_>,
            ) -> Result<ScheduleRecord, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                // Conditional, so that a claim at the same moment wins or loses cleanly.
                let updated = sqlx::query(
                    "UPDATE schedules SET status = 'cancelled', reason = $2, updated_at = $3 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(format!("cancelled by {}", change.actor))
                .bind(Engine::timestamp(&rules::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let record = schedule_in(&mut tx, id).await?;
                if updated == 0 {
                    let detail = format!(
                        "is {}, not pending; only a pending schedule can be cancelled",
                        record.status
                    );
                    return Err(rules::conflict(SCHEDULE, &id.to_string(), &detail));
                }
                commit_audited(tx, &change, record).await
            }

            async fn claim_due_schedules(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<ScheduleRecord>, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE schedules SET status = 'running', lease_until = $2, \
                     attempts = attempts + 1, updated_at = $1 WHERE id IN (\
                     SELECT id FROM schedules WHERE (status = 'pending' AND due_at <= $1) \
                     OR (status = 'running' AND lease_until < $1) \
                     ORDER BY due_at, id LIMIT $3{SKIP_LOCKED}) RETURNING {SCHEDULE_COLUMNS}"
                )))
                .bind(Engine::timestamp(&now))
                .bind(Engine::timestamp(&lease_until))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                let mut claimed: Vec<ScheduleRecord> = rows
                    .iter()
                    .map(ScheduleRecord::decode)
                    .collect::<Result<_, _>>()?;
                claimed.sort_by_key(|a| (a.due_at, a.id));
                Ok(claimed)
            }

            async fn finish_schedule(
                &self,
                id: i64,
                applied: bool,
                reason: Option<&str>,
                change: Change<'_>,
            ) -> Result<ScheduleRecord, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let updated = sqlx::query(
                    "UPDATE schedules SET status = $2, reason = $3, lease_until = NULL, \
                     updated_at = $4 WHERE id = $1 AND status = 'running'",
                )
                .bind(id)
                .bind(if applied { "applied" } else { "failed" })
                .bind(reason)
                .bind(Engine::timestamp(&rules::now()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Err(rules::conflict(SCHEDULE, &id.to_string(), "is not running"));
                }
                let record = schedule_in(&mut tx, id).await?;
                commit_audited(tx, &change, record).await
            }

            async fn set_environment_requires_approval(
                &self,
                name: &str,
                required: bool,
                change: Change<'_>,
            ) -> Result<Written, Error> {
                let switch = EnvironmentSwitch::RequiresApproval;
                self.set_environment_switch(name, switch, required, change)
                    .await
            }

            async fn create_change_request(
                &self,
                new: &NewChangeRequest<'_>,
                change: Change<'_>,
            ) -> Result<ChangeRequestRecord, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let now = Engine::timestamp(&rules::now());
                let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO change_requests (kind, target, environments, body, based_on, \
                     description, status, author, created_at, updated_at) \
                     VALUES ($1, $2, $3{JSON}, $4{JSON}, $5, $6, 'open', $7, $8, $8) RETURNING id"
                )))
                .bind(new.kind)
                .bind(new.target)
                .bind(rules::to_text(
                    CHANGE_REQUEST,
                    new.target,
                    &new.environments,
                )?)
                .bind(rules::to_text(CHANGE_REQUEST, new.target, new.body)?)
                .bind(new.based_on)
                .bind(new.description)
                .bind(new.author)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                let record = change_request_in(&mut tx, id, UNLOCKED).await?;
                commit_audited(tx, &change, record).await
            }

            async fn change_requests(
                &self,
                status: Option<&str>,
            ) -> Result<Vec<ChangeRequestRecord>, Error> {
                let select =
                    format!("SELECT {CHANGE_REQUEST_COLUMNS} FROM change_requests WHERE 1 = 1");
                let mut query = narrowed(select, &[("status", status)]);
                query.push(" ORDER BY id DESC LIMIT 1000");
                all(self.pool(), query.build()).await
            }

            async fn change_request(&self, id: i64) -> Result<Option<ChangeRequestRecord>, Error> {
                let sql =
                    format!("SELECT {CHANGE_REQUEST_COLUMNS} FROM change_requests WHERE id = $1");
                find(self.pool(), sql, id).await
            }

            async fn update_change_request(
                &self,
                record: &ChangeRequestRecord,
                from_status: &str,
                change: Change<'_>,
            ) -> Result<ChangeRequestRecord, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                let target = &record.target;
                let updated = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE change_requests SET body = $2{JSON}, based_on = $3, \
                     environments = $4{JSON}, status = $5, reviewer = $6, schedule_id = $7, \
                     updated_at = $8 WHERE id = $1 AND status = $9"
                )))
                .bind(record.id)
                .bind(rules::to_text(CHANGE_REQUEST, target, &record.body)?)
                .bind(record.based_on)
                .bind(rules::to_text(
                    CHANGE_REQUEST,
                    target,
                    &record.environments,
                )?)
                .bind(&record.status)
                .bind(&record.reviewer)
                .bind(record.schedule_id)
                .bind(Engine::timestamp(&rules::now()))
                .bind(from_status)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    let stored = change_request_in(&mut tx, record.id, UNLOCKED).await?;
                    let detail = format!("is {}, not {from_status}", stored.status);
                    return Err(rules::conflict(
                        CHANGE_REQUEST,
                        &record.id.to_string(),
                        &detail,
                    ));
                }
                let record = change_request_in(&mut tx, record.id, UNLOCKED).await?;
                commit_audited(tx, &change, record).await
            }

            async fn add_comment(
                &self,
                id: i64,
                comment: &Comment,
                change: Change<'_>,
            ) -> Result<ChangeRequestRecord, Error> {
                let (_lock, mut tx) = self.begin_write().await?;
                // Read and written under the row's lock, so that comments made at once are
                // all kept.
                let mut record = change_request_in(&mut tx, id, FOR_UPDATE).await?;
                record.comments.push(comment.clone());
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE change_requests SET comments = $2{JSON}, updated_at = $3 WHERE id = $1"
                )))
                .bind(id)
                .bind(rules::to_text(
                    CHANGE_REQUEST,
                    &record.target,
                    &record.comments,
                )?)
                .bind(Engine::timestamp(&comment.at))
                .execute(&mut *tx)
                .await?;
                let record = change_request_in(&mut tx, id, UNLOCKED).await?;
                commit_audited(tx, &change, record).await
            }
        }

        async fn schedule_in(conn: &mut Conn, id: i64) -> Result<ScheduleRecord, Error> {
            let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = $1");
            find(conn, sql, id)
                .await?
                .ok_or_else(|| rules::not_found(SCHEDULE, &id.to_string()))
        }

        /// A change request as the transaction sees it, its row locked until commit if
        /// `lock` is [`FOR_UPDATE`] (rather than [`UNLOCKED`]).
        async fn change_request_in(
            conn: &mut Conn,
            id: i64,
            lock: &str,
        ) -> Result<ChangeRequestRecord, Error> {
            let sql =
                format!("SELECT {CHANGE_REQUEST_COLUMNS} FROM change_requests WHERE id = $1{lock}");
            find(conn, sql, id)
                .await?
                .ok_or_else(|| rules::not_found(CHANGE_REQUEST, &id.to_string()))
        }

        /// Ends a change to a schedule or change request: records it, with the record as
        /// `after`, at the current configuration version, commits, and returns the record.
        async fn commit_audited<P: Proposal>(
            mut tx: Tx,
            change: &Change<'_>,
            record: P,
        ) -> Result<P, Error> {
            let (_, target, _) = record.proposes();
            let after = rules::to_text(P::KIND, target, &record)?;
            let version = config_version(&mut *tx).await?;
            insert_audit(&mut tx, &record.entry(change, version, &after)).await?;
            tx.commit().await?;
            Ok(record)
        }

        decode!(ScheduleRecord from row {
            let target: String = row.try_get("target")?;
            columns: id, kind, based_on, due_at, status, reason, change_request, created_by,
                created_at, updated_at, attempts;
            environments: rules::parse(SCHEDULE, &target, row.try_get("environments")?)?,
            body: rules::parse(SCHEDULE, &target, row.try_get("body")?)?,
            target,
        });

        decode!(ChangeRequestRecord from row {
            let target: String = row.try_get("target")?;
            columns: id, kind, based_on, description, status, author, reviewer, schedule_id,
                created_at, updated_at;
            environments: rules::parse(CHANGE_REQUEST, &target, row.try_get("environments")?)?,
            body: rules::parse(CHANGE_REQUEST, &target, row.try_get("body")?)?,
            comments: rules::parse(CHANGE_REQUEST, &target, row.try_get("comments")?)?,
            target,
        });
    };
}
pub(crate) use expand;
