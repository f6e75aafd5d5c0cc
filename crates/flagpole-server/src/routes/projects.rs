//! `/api/v1/projects`: projects (create, read, update, delete when empty), their
//! settings per environment, and their members.

use axum::http::StatusCode;
use axum::Json;
use flagpole_store::ProjectRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::http::auth::{readable, Admin, ProjectViewer};
use crate::http::extract::{ApiJson, ApiPath, Call};
use crate::http::schemas::{BodyErrors, WriteErrors};
use crate::identity::Role;
use crate::write::projects::{self, Edit, ProjectInput};

router!(pub fn router: list_projects, create_project; get_project, update_project, delete_project; set_project_environment; list_members; set_member, remove_member);

/// A project, with how many live flags it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub project: ProjectRecord,
    pub flags: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectView>,
}

fn view(state: &crate::http::AppState, project: ProjectRecord) -> ProjectView {
    let flags = state.published().project_size(&project.key);
    ProjectView { project, flags }
}

/// Lists the projects the caller reaches.
#[utoipa::path(get, path = "/projects", responses((status = 200, description = "Every project the caller is a member of (all, for server-wide roles), in key order", body = ProjectList)))]
async fn list_projects(Call(state, ProjectViewer(who)): Call<ProjectViewer>) -> Json<ProjectList> {
    let published = state.published();
    let scope = who.scope();
    let projects = published
        .projects
        .values()
        .filter(|p| scope.contains(&p.key))
        .map(|p| view(&state, p.clone()))
        .collect();
    Json(ProjectList { projects })
}

/// A project to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewProject {
    /// URL-safe: ASCII letters, digits, '.', '_' and '-'.
    key: String,
    #[serde(flatten)]
    input: ProjectInput,
}

/// Creates a project (server-wide admins).
#[utoipa::path(post, path = "/projects", request_body = NewProject, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 201, description = "The new project", body = ProjectView), (status = 409, description = "The project exists", body = ErrorBody), (status = 422, description = "A key, name or environment that is not allowed", body = ErrorBody), BodyErrors, WriteErrors))]
async fn create_project(
    Call(state, Admin(who)): Call<Admin>,
    ApiJson(body): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    let created = projects::create(&state, &who, &body.key, &body.input).await?;
    Ok((StatusCode::CREATED, Json(view(&state, created))))
}

/// 404 for a project the caller does not reach, as for one that does not exist.
fn readable_project(
    state: &crate::http::AppState,
    who: &crate::identity::Principal,
    key: &str,
) -> Result<ProjectRecord, ApiError> {
    readable(who, Some(key), "project", key)?;
    projects::found(&state.published(), key)
}

/// One project.
#[utoipa::path(get, path = "/projects/{key}", params(("key" = String, Path, description = "Project key")), responses((status = 200, description = "The project", body = ProjectView), (status = 404, description = "No such project (or not one the caller reaches)", body = ErrorBody)))]
async fn get_project(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<ProjectView>, ApiError> {
    let project = readable_project(&state, &who, &key)?;
    Ok(Json(view(&state, project)))
}

/// Changes a project's name, description or environments (its admins).
#[utoipa::path(patch, path = "/projects/{key}", params(("key" = String, Path, description = "Project key")), request_body = ProjectInput, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 200, description = "The project", body = ProjectView), (status = 404, description = "No such project", body = ErrorBody), (status = 422, description = "A name or environment that is not allowed", body = ErrorBody), BodyErrors, WriteErrors))]
async fn update_project(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(key): ApiPath<String>,
    ApiJson(body): ApiJson<ProjectInput>,
) -> Result<Json<ProjectView>, ApiError> {
    let updated = projects::update(&state, &who, &key, Edit::Fields(&body)).await?;
    Ok(Json(view(&state, updated)))
}

/// Deletes an empty project (server-wide admins).
#[utoipa::path(delete, path = "/projects/{key}", params(("key" = String, Path, description = "Project key")), responses((status = 204, description = "Deleted, with its memberships"), (status = 404, description = "No such project", body = ErrorBody), (status = 409, description = "Flags or segments still belong to it, or it is `default` or the seed API's", body = ErrorBody)))]
async fn delete_project(
    Call(state, Admin(who)): Call<Admin>,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    projects::delete(&state, &who, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A project's settings in one environment; what is left out stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EnvironmentSettings {
    /// Only the project's admins, and those granted the environment, may change its flags there.
    protected: Option<bool>,
    /// Changes to its flags there go through change requests.
    requires_approval: Option<bool>,
}

/// Sets a project's protection and approval requirement in one environment (its admins).
#[utoipa::path(put, path = "/projects/{key}/environments/{env}", params(("key" = String, Path, description = "Project key"), ("env" = String, Path, description = "Environment")), request_body = EnvironmentSettings, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 200, description = "The project", body = ProjectView), (status = 404, description = "No such project or environment", body = ErrorBody), BodyErrors, WriteErrors))]
async fn set_project_environment(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath((key, env)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<EnvironmentSettings>,
) -> Result<Json<ProjectView>, ApiError> {
    let edit = Edit::Environment {
        environment: &env,
        protected: body.protected,
        requires_approval: body.requires_approval,
    };
    let updated = projects::update(&state, &who, &key, edit).await?;
    Ok(Json(view(&state, updated)))
}

/// One member of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub user: String,
    /// `viewer`, `editor` or `admin`.
    pub role: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

/// A project's members.
#[utoipa::path(get, path = "/projects/{key}/members", params(("key" = String, Path, description = "Project key")), responses((status = 200, description = "The members, by user name", body = MemberList), (status = 404, description = "No such project", body = ErrorBody)))]
async fn list_members(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<MemberList>, ApiError> {
    readable_project(&state, &who, &key)?;
    let mut members: Vec<Member> = state
        .directory()
        .members(&key)
        .map(|(user, role)| Member {
            user: user.to_string(),
            role: role.as_str(),
        })
        .collect();
    members.sort_by(|a, b| a.user.cmp(&b.user));
    Ok(Json(MemberList { members }))
}

/// A member's role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberRole {
    /// `viewer`, `editor` or `admin`.
    role: String,
}

/// Adds a member, or changes their role (the project's admins).
#[utoipa::path(put, path = "/projects/{key}/members/{user}", params(("key" = String, Path, description = "Project key"), ("user" = String, Path, description = "User name")), request_body = MemberRole, responses((status = 400, description = "Unreadable body", body = ErrorBody), (status = 204, description = "Set"), (status = 404, description = "No such project or user", body = ErrorBody), (status = 422, description = "Not a role", body = ErrorBody), BodyErrors, WriteErrors))]
async fn set_member(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath((key, user)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<MemberRole>,
) -> Result<StatusCode, ApiError> {
    let Some(role) = Role::parse(&body.role) else {
        return Err(ApiError::Invalid(vec![flagpole_core::Problem {
            path: "role".into(),
            message: format!("must be viewer, editor or admin, not {:?}", body.role),
        }]));
    };
    projects::set_member(&state, &who, &key, &user, Some(role)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a membership (the project's admins).
#[utoipa::path(delete, path = "/projects/{key}/members/{user}", params(("key" = String, Path, description = "Project key"), ("user" = String, Path, description = "User name")), responses((status = 204, description = "Removed"), (status = 404, description = "No such project, user or membership", body = ErrorBody)))]
async fn remove_member(
    Call(state, ProjectViewer(who)): Call<ProjectViewer>,
    ApiPath((key, user)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    projects::set_member(&state, &who, &key, &user, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
