//! The download: the stored file, hash-checked before and while it is sent.

use super::blobs::StoreError;
use super::filecheck::{self};
use super::store::{self};
use crate::audit::chain::AuditCtx;
use crate::audits::reach::Reach;
use crate::context::{RequestMeta, SessionUser};
use crate::error::AppError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::response::Response;
use futures_util::StreamExt;
use http::header::{self, HeaderValue};
use sha2::{Digest, Sha256};
use std::io;
use tokio::io::AsyncReadExt;

async fn record_integrity_failure(
    state: &AppState,
    ctx: AuditCtx,
    evidence_id: i64,
    version: i64,
    filename: &str,
    expected: &str,
    found: &str,
) {
    tracing::error!(
        evidence_id,
        version,
        expected,
        found,
        "stored evidence failed its integrity check"
    );
    let summary = format!(
        "Evidence #{evidence_id} version {version} ('{filename}'): stored content does not match \
         sha256 {expected} (found {found}); download refused"
    );
    let res = async {
        let mut tx = state.db.write().await?;
        tx.audit(ctx.event(
            "evidence.integrity_failed",
            "evidence",
            evidence_id,
            summary,
        ))
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = res {
        tracing::error!(error = %e, "could not record the integrity failure");
    }
}

const READ_CHUNK: usize = 64 * 1024;

/// SHA-256 of stored content, read in chunks.
async fn hash_blob(state: &AppState, sha256: &str) -> Result<String, StoreError> {
    let mut r = state.blobs.open(sha256).await?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = r.reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

pub(super) async fn download(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, String)>,
    req: Request,
) -> Result<Response, AppError> {
    let not_found = || AppError::Missing("No such evidence file.".into());
    let (Ok(id), Ok(version)) = (id.parse::<i64>(), version.parse::<i64>()) else {
        return Err(not_found());
    };
    let su = req
        .extensions()
        .get::<SessionUser>()
        .cloned()
        .ok_or(AppError::Unauthenticated)?;
    let meta = req
        .extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    if !Reach::of(state.db.pool(), &su.user).await?.evidence(id) {
        return Err(not_found());
    }
    let fv = match store::file_version(state.db.pool(), id, version).await? {
        Some(Some(fv)) => fv,
        Some(None) => {
            return Err(AppError::Missing(
                "This version is a link, not a file: open it from the evidence page.".into(),
            ))
        }
        None => return Err(not_found()),
    };
    let refused = || {
        AppError::Damaged(format!(
            "The stored file of evidence #{id} version {version} failed its integrity check \
             (its SHA-256 no longer matches what was uploaded), so it is not served. \
             The failure has been recorded in the audit log."
        ))
    };
    // Verify the whole file before sending any of it.
    let found = match hash_blob(&state, &fv.sha256).await {
        Ok(h) => h,
        Err(StoreError::NotFound(_)) => "(file missing)".to_string(),
        Err(e) => return Err(AppError::internal(e)),
    };
    if found != fv.sha256 {
        let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
        record_integrity_failure(&state, ctx, id, version, &fv.filename, &fv.sha256, &found).await;
        return Err(refused());
    }
    let reader = state
        .blobs
        .open(&fv.sha256)
        .await
        .map_err(AppError::internal)?;
    let size = reader.size;
    // Hash again while sending: if the file changed since the check, the response is cut off
    // with an error (the client sees a failed download) and the failure is recorded.
    let ctx = crate::state::audit_ctx_for(&state, &meta, Some(&su.user));
    let expected = fv.sha256.clone();
    let filename = fv.filename.clone();
    let st = state.clone();
    let body = futures_util::stream::unfold(Some((reader.reader, Sha256::new())), move |s| {
        let (ctx, expected, filename, st) =
            (ctx.clone(), expected.clone(), filename.clone(), st.clone());
        async move {
            let (mut r, mut h) = s?;
            let mut buf = vec![0u8; READ_CHUNK];
            match r.read(&mut buf).await {
                Err(e) => Some((Err(e), None)),
                Ok(0) => {
                    let got = hex::encode(h.finalize());
                    if got == expected {
                        None
                    } else {
                        record_integrity_failure(&st, ctx, id, version, &filename, &expected, &got)
                            .await;
                        Some((
                            Err(io::Error::other("stored file changed while it was sent")),
                            None,
                        ))
                    }
                }
                Ok(n) => {
                    buf.truncate(n);
                    h.update(&buf);
                    Some((Ok(Bytes::from(buf)), Some((r, h))))
                }
            }
        }
    });
    let mut res = Response::new(Body::from_stream(body.boxed()));
    let h = res.headers_mut();
    let media = HeaderValue::from_str(&fv.media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, media);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&filecheck::content_disposition(&fv.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}
