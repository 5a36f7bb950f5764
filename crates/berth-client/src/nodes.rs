//! Routes of a node's configuration history.

use crate::{Client, ClientError};
use berth_proto::api::nodes::{
    CreateNode, DriftItem, JournalLine, Node, NodeChange, NodeCreated, ResolveDrift, RevisionInfo, RollbackRequest,
};
use reqwest::Method;

impl Client {
    /// `GET /api/v1/nodes`.
    pub async fn list_nodes(&self) -> Result<Vec<Node>, ClientError> {
        self.get("/api/v1/nodes").await
    }

    /// `GET /api/v1/nodes/{name}`.
    pub async fn get_node(&self, node: &str) -> Result<Node, ClientError> {
        self.get(&format!("/api/v1/nodes/{}", seg(node)?)).await
    }

    /// `POST /api/v1/nodes` (201): the node and its one-time join token.
    pub async fn create_node(&self, req: &CreateNode) -> Result<NodeCreated, ClientError> {
        self.send_json(Method::POST, "/api/v1/nodes", req).await
    }

    /// `POST /api/v1/nodes/{name}/token`: a new join token.
    pub async fn node_token(&self, node: &str) -> Result<NodeCreated, ClientError> {
        self.post_empty(&format!("/api/v1/nodes/{}/token", seg(node)?)).await
    }

    /// `DELETE /api/v1/nodes/{name}` (204): revoke.
    pub async fn delete_node(&self, node: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/nodes/{}", seg(node)?)).await
    }

    /// `POST /api/v1/nodes/{name}/rotate-cert` (202).
    pub async fn rotate_node_cert(&self, node: &str) -> Result<NodeChange, ClientError> {
        self.post_empty(&format!("/api/v1/nodes/{}/rotate-cert", seg(node)?))
            .await
    }

    /// `POST /api/v1/nodes/{name}/heartbeat` (202).
    pub async fn node_heartbeat(&self, node: &str) -> Result<NodeChange, ClientError> {
        self.post_empty(&format!("/api/v1/nodes/{}/heartbeat", seg(node)?))
            .await
    }

    /// `GET /api/v1/nodes/{name}/revisions` (newest first).
    pub async fn node_revisions(&self, node: &str) -> Result<Vec<RevisionInfo>, ClientError> {
        self.get(&format!("/api/v1/nodes/{}/revisions", seg(node)?)).await
    }

    /// `GET /api/v1/nodes/{name}/journal`.
    pub async fn node_journal(&self, node: &str) -> Result<Vec<JournalLine>, ClientError> {
        self.get(&format!("/api/v1/nodes/{}/journal", seg(node)?)).await
    }

    /// `GET /api/v1/nodes/{name}/drift`.
    pub async fn node_drift(&self, node: &str) -> Result<Vec<DriftItem>, ClientError> {
        self.get(&format!("/api/v1/nodes/{}/drift", seg(node)?)).await
    }

    /// `POST /api/v1/nodes/{name}/drift` (202).
    pub async fn resolve_node_drift(&self, node: &str, req: &ResolveDrift) -> Result<NodeChange, ClientError> {
        self.send_json(Method::POST, &format!("/api/v1/nodes/{}/drift", seg(node)?), req)
            .await
    }

    /// `POST /api/v1/nodes/{name}/templates/activate` (202).
    pub async fn activate_node_templates(&self, node: &str) -> Result<NodeChange, ClientError> {
        self.post_empty(&format!("/api/v1/nodes/{}/templates/activate", seg(node)?))
            .await
    }

    /// `POST /api/v1/nodes/{name}/rebuild` (202).
    pub async fn rebuild_node(&self, node: &str) -> Result<NodeChange, ClientError> {
        self.post_empty(&format!("/api/v1/nodes/{}/rebuild", seg(node)?)).await
    }

    /// `POST /api/v1/nodes/{name}/rollback` (202).
    pub async fn rollback_node(&self, node: &str, req: &RollbackRequest) -> Result<NodeChange, ClientError> {
        self.send_json(Method::POST, &format!("/api/v1/nodes/{}/rollback", seg(node)?), req)
            .await
    }
}

/// A node name as a path segment: plain characters only.
fn seg(node: &str) -> Result<&str, ClientError> {
    if !node.is_empty() && node.len() <= 64 && node.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(node)
    } else {
        Err(ClientError::BadUrl(format!("invalid node name {node:?}")))
    }
}
