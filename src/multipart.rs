//! Reading a `multipart/form-data` body (a form that may carry files) into its text fields and
//! its files: shared by the CSRF check that guards such forms and by whoever stores the files.
use axum::extract::{FromRequest, Multipart, Request};

use crate::error::AppError;
use crate::slug;

/// A file as it arrived in a form.
pub struct Received {
    /// The form field it was sent in.
    pub field: String,
    /// Its name, as the sender's computer called it (cleaned of disguising characters).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The text fields and the files of a multipart body (within the body limit in force).
pub async fn read<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(Vec<(String, String)>, Vec<Received>), AppError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadRequest(format!("the form could not be read: {}", e.body_text()))
        }
    };
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::BadRequest("expected a form that may carry files".into()))?;
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(part) = multipart.next_field().await.map_err(unreadable)? {
        let name = part.name().unwrap_or_default().to_owned();
        match part.file_name().map(str::to_owned) {
            Some(file_name) => {
                let bytes = part.bytes().await.map_err(unreadable)?;
                // A file input left empty still sends a part, without name nor content.
                if !file_name.is_empty() || !bytes.is_empty() {
                    files.push(Received {
                        field: name,
                        name: slug::clean_label(&file_name),
                        bytes: bytes.to_vec(),
                    });
                }
            }
            None => fields.push((name, part.text().await.map_err(unreadable)?)),
        }
    }
    Ok((fields, files))
}
